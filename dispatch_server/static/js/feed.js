// The live feed: every logged event once, in seq order, across reconnects.
//
// The page remembers the last seq it applied and reconnects with `since` = that seq, so the
// server replays what was missed before going live (docs/protocol.md). A frame at or below
// that seq is a duplicate and is dropped; a jump is counted as a gap (the console sees every
// event, so there should be none) and the caller is told to reload from REST.
//
// The partner page uses the same feed on /ws/partner: it starts with `lastSeq` null (the feed
// then starts at the server's head, the `last_seq` of `welcome`), and passes no `onGap`, since
// a partner sees only some events and its seqs jump by design.
//
// Frames without a seq are notices, not events (`grids_changed`: the map was replaced):
// they go to `onNotice` and leave the seq alone.

export function openFeed({token, lastSeq = null, onEvent, onState, onGap = null, onNotice = null, path = "/ws/console"}) {
  const stats = {received: 0, applied: 0, duplicates: 0, gaps: 0, connects: 0};
  let seq = lastSeq;
  let ws = null;
  let retry = 500;
  let stopped = false;
  let timer = null;

  function connect() {
    if (stopped) return;
    onState("connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}${path}`);
    ws.onopen = () => ws.send(JSON.stringify({type: "hello", token, since: seq ?? undefined}));
    ws.onmessage = (m) => {
      const frame = JSON.parse(m.data);
      if (frame.type === "welcome") {
        if (seq === null) seq = frame.last_seq ?? 0;
        stats.connects += 1;
        retry = 500;
        onState("online");
        return;
      }
      if (frame.type === "error") { console.warn(`${path} error`, frame); return; }
      if (typeof frame.seq !== "number") { if (onNotice) onNotice(frame); return; }
      stats.received += 1;
      if (frame.seq <= seq) { stats.duplicates += 1; return; }
      if (onGap && frame.seq !== seq + 1) { stats.gaps += 1; onGap(seq, frame.seq); }
      seq = frame.seq;
      stats.applied += 1;
      onEvent(frame);
    };
    ws.onclose = (e) => {
      ws = null;
      if (stopped) return;
      onState(e.code === 4401 || e.code === 4403 ? "refused" : "offline");
      if (e.code === 4401 || e.code === 4403) return;
      // Back off up to 5 s: a restarting server is usually back within seconds.
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 5000);
    };
  }

  connect();
  return {
    stats,
    get seq() { return seq; },
    close() { stopped = true; clearTimeout(timer); if (ws) ws.close(); },
  };
}
