// Photos and clips of an incident (docs/console.md), shared by the console's panel and the
// partner page. Their bytes need the bearer token, which an <img src> cannot carry: each is
// fetched once (fetch -> blob -> object URL) and its <img>/<video> kept, so redrawing the
// panel after every event neither fetches again nor stops a clip that is playing.

import {h} from "./dom.js";

const kept = new Map();  // media_id -> the <img> or <video>, with its object URL

function element(m, fetchBlob) {
  let el = kept.get(m.media_id);
  if (el) return el;
  el = m.kind === "clip"
    ? h("video", {controls: true, preload: "metadata", playsinline: true, "data-media": m.media_id})
    : h("img", {"data-media": m.media_id, alt: ""});
  kept.set(m.media_id, el);
  fetchBlob(m.url).then((blob) => {
    el.src = URL.createObjectURL(blob);
    el.dataset.loaded = "true";
  }, () => {
    kept.delete(m.media_id);  // the next redraw tries again
    el.dataset.failed = "true";
  });
  return el;
}

/** A gallery of `items` (an incident view's `media`). `words(key, vars)` is the page's own
 * translator; `fetchBlob(url)` a GET with the page's token. Photos open full size in a
 * dialog-free way: a click toggles `.big` on the figure. */
export function gallery(items, fetchBlob, words) {
  if (!items?.length) return null;
  const figures = items.map((m) => {
    if (m.expired) {
      return h("figure", {class: "media-item media-expired", "data-media": m.media_id},
        h("figcaption", {}, words(m.kind === "clip" ? "media_clip" : "media_photo"), " · ", words("media_expired")));
    }
    const caption = m.kind === "clip" && m.duration_s
      ? `${words("media_clip")} · ${Math.round(m.duration_s)}″` : words(m.kind === "clip" ? "media_clip" : "media_photo");
    const fig = h("figure", {class: `media-item media-${m.kind}`, "data-media": m.media_id},
      element(m, fetchBlob), h("figcaption", {}, caption));
    if (m.kind === "photo") fig.addEventListener("click", () => fig.classList.toggle("big"));
    return fig;
  });
  return h("div", {class: "media-gallery", id: "media-gallery"}, figures);
}
