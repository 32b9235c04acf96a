// REST calls with the duty token. Every failure becomes an Error whose message can be shown.

export class ApiError extends Error {
  constructor(status, message, body = null) { super(message); this.status = status; this.body = body; }
}

export function makeApi(token) {
  async function call(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : {"Content-Type": "application/json"}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, String(err));
    }
    if (!response.ok) {
      let detail = response.statusText;
      let parsed = null;
      try { parsed = await response.json(); detail = JSON.stringify(parsed.detail); } catch { /* not JSON */ }
      throw new ApiError(response.status, `${response.status} ${detail}`, parsed);
    }
    return response;
  }
  return {
    get: async (path) => (await call("GET", path)).json(),
    post: async (path, body = {}) => (await call("POST", path, body)).json(),
    put: async (path, body) => (await call("PUT", path, body)).json(),
    patch: async (path, body) => (await call("PATCH", path, body)).json(),
    blob: async (path) => (await call("GET", path)).blob(),
    postBlob: async (path, body) => (await call("POST", path, body)).blob(),
  };
}
