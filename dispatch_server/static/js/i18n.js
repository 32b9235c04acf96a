// Every word the console shows, in Chinese (the default) and English.
// Elements carry data-t="key"; code calls t("key", {name: value}).

const WORDS = {
  zh: {
    title: "社区网格调度台",
    lang_switch: "English",
    offline: "⚠ 与服务器断开，正在自动重连… 断开期间的报警会在重连后补上",
    speech_on: "语音播报：开",
    speech_off: "语音播报：关",
    duty_scheduler: "所有计时已停止（自动上报、点名、失联监测、报平安），请直接电话联系保安",
    duty_escalation: "自动上报计时已停止，请直接电话联系保安",
    duty_roll_calls: "点名计时已停止，点名不会自动结束",
    duty_supervision: "巡逻失联监测已停止，请人工点名确认队员平安",
    duty_check_ins: "报平安计时已停止，请人工联系单人巡逻的队员",
    duty_coverage: "缺岗监测已停止，请人工核对各网格在岗人数",
    duty_team_watch: "队伍监测已停止，请人工确认离队或失联的队员",
    watch_gap: "{grid}{shift}在岗{n}人，少于{min}人",
    watch_drift: "{member}，{grid}：离队友{m}米，已请其确认平安",
    watch_drift_overdue: "{member}，{grid}：离队且未确认平安，已自动开启事件",
    watch_silent_overdue: "{member}，{grid}：失联且未确认平安，已自动开启事件",
    shift_morning: "早班",
    shift_evening: "晚班",
    source_team_watch: "离队或失联未确认平安",
    duty_deliveries: "向合作方发送通知已停止，请直接电话联系保安",
    duty_log_writer: "记录写入出错，新的报警可能无法保存！请电话联系技术人员",
    duty_other: "后台任务“{name}”已停止",
    duty_since: "（自 {t} 起）",
    online: "在线",
    connecting: "连接中",
    offline_pill: "已断开",
    signin_title: "值班员登录",
    signin_hint: "请输入值班员令牌。点击“登录”的同时，浏览器会允许本页播放警报声音。",
    token: "令牌",
    signin: "登录并开启警报声",
    resume_hint: "欢迎回来。浏览器需要您点击一次才能播放警报声音。",
    resume: "开始值班（开启警报声）",
    signout: "退出",
    bad_token: "令牌无效或已作废，请核对后重试。",
    wrong_token: "这个令牌不是值班员令牌，不能登录调度台。",
    no_server: "连不上服务器，请稍后再试。",
    tab_incidents: "报警处置",
    tab_rollcall: "点名",
    tab_log: "事件记录",
    sound_on: "警报声：已开启",
    sound_playing: "警报声：响铃中",
    sound_blocked: "警报声被浏览器阻止：请点此开启",
    new_alarm: "【新报警】",
    queue: "报警队列",
    queue_empty: "目前没有未结事件",
    map: "网格地图",
    legend_fresh: "队员实时位置（{s}秒内）",
    legend_stale: "位置过时（超过{s}秒）",
    legend_offline: "离线（{s}秒无信号）",
    legend_nofix: "在岗，尚无定位",
    legend_incident: "未确认报警（闪烁）",
    legend_incident_ack: "已确认事件",
    shortcuts: "快捷键：A 确认收到 · N 下一个事件 · Esc 关闭",
    age: "已过 {age}",
    age_bare: "{age}",
    opened_at: "报警时间",
    pressed_at: "按键时间",
    received_at: "收到时间",
    received_later: "按键后 {d} 才收到",
    pressed_clamped: "（手台时钟不准，已按服务器校正）",
    since_press: "按键至今",
    since_alarm: "报警至今",
    reporter: "报警人",
    place: "位置",
    grid: "网格",
    category: "类别",
    status: "状态",
    disposition: "处置结果",
    inside: "在网格内",
    outside: "在所有网格外 {m} 米",
    by_fix: "按报警时定位",
    by_reporter_fix: "按报警人最近定位",
    by_reporter_grid: "无定位，按报警人所在网格",
    responders: "建议派遣（由近及远，随时更新）",
    no_responders: "没有可派遣的队员",
    skill_first: "{skills}技能优先：比最近者远 {m} 米",
    find_member: "派遣其他在岗队员：输入姓名或网格",
    find_none: "没有符合的在岗队员",
    dispatch_selected: "派遣所选队员（{n}人）",
    acknowledge: "确认收到",
    acknowledged: "已确认",
    add_note: "添加备注",
    note_placeholder: "备注内容",
    resolve: "结案",
    resolve_title: "结案：请选择处置结果（必选）",
    resolve_note: "结案说明（可选）",
    pick_disposition: "请先选择处置结果",
    timeline: "处置记录",
    media: "现场照片和视频",
    media_photo: "照片",
    media_clip: "视频",
    media_expired: "已按保存期限删除",
    close: "关闭",
    reply_pending: "等待答复",
    reply_accepted: "已接受，正在赶来",
    reply_declined: "已拒绝",
    reply_arrived: "已到场",
    reply_done: "已处置完毕",
    online_now: "在线",
    offline_now: "离线",
    located_fix: "按定位 {age}秒前",
    located_grid: "无新定位，按所在网格估算",
    skill_fit: "专长匹配：{skills}",
    meters: "{m} 米",
    escalated_badge: "已上报安保/警方",
    actor_admin: "管理员",
    actor_dispatcher: "值班员{id}",
    actor_dispatcher_named: "值班员{name}",
    actor_partner: "合作方{name}",
    actor_system: "系统",
    source: "来源",
    source_roll_call: "点名时报告需要支援（第{n}次点名）",
    source_check_in: "单人巡逻报平安超时",
    unattended: "报警时无人值守",
    nobody_reached: "上报失败：没有{to}负责本网格，系统没有通知到任何人。请马上直接打电话！",
    nobody_reached_badge: "上报无人接收，请打电话",
    next_escalation: "{t} 后自动上报",
    escalation_due: "即将自动上报",
    rc_title: "无线电点名",
    rc_all: "全部网格点名",
    rc_grid: "点名 {grid}",
    rc_none: "还没有点名。按上面的按钮开始。",
    rc_expected: "应到 {n} 人",
    rc_unstaffed: "无人在岗",
    rc_all_normal: "一切正常",
    rc_need_help: "需要支援",
    rc_missing: "尚未应答",
    rc_silent: "无应答！",
    rc_deadline: "截止 {t}",
    rc_left: "剩余 {s} 秒",
    rc_closed: "已结束",
    rc_started: "{t} 开始",
    log_title: "事件记录查询",
    log_from: "起始时间",
    log_to: "截止时间",
    any: "全部",
    search: "查询",
    export_csv: "导出 CSV",
    export_json: "导出 JSON",
    export_bundle: "导出本事件（含照片和视频）",
    log_count: "共 {n} 条",
    log_empty: "没有符合条件的事件",
    col_id: "编号",
    failed: "操作失败：{msg}",
    // The map (issue 12): zoom buttons, responders marked on it.
    map_zoom_in: "放大地图",
    map_zoom_out: "缩小地图",
    map_fit: "全图",
    legend_suggested: "建议派遣的队员（虚线，标距离）",
    legend_dispatched: "已派遣（绿：已接受，橙：待答复）",
  },
  en: {
    title: "Grid patrol dispatch",
    lang_switch: "中文",
    offline: "⚠ Offline: reconnecting by itself… alarms raised meanwhile will appear when it is back",
    speech_on: "Speak alarms: on",
    speech_off: "Speak alarms: off",
    duty_scheduler: "Every clock has stopped (escalation, roll calls, silence watch, check-ins): phone security directly",
    duty_escalation: "Automatic escalation has stopped: phone security directly",
    duty_roll_calls: "The roll-call clock has stopped: roll calls will not close by themselves",
    duty_supervision: "The patrol silence watch has stopped: run a roll call by hand",
    duty_check_ins: "The check-in clock has stopped: call lone patrols by hand",
    duty_coverage: "The coverage watch has stopped: check each grid's patrol numbers by hand",
    duty_team_watch: "The team watch has stopped: check on strayed or silent members by hand",
    watch_gap: "{grid}, {shift}: {n} on shift, fewer than {min}",
    watch_drift: "{member}, {grid}: {m} m from their team; asked to confirm they are OK",
    watch_drift_overdue: "{member}, {grid}: strayed and did not confirm; an incident was opened",
    watch_silent_overdue: "{member}, {grid}: went silent and did not confirm; an incident was opened",
    shift_morning: "morning shift",
    shift_evening: "evening shift",
    source_team_watch: "strayed or silent, did not confirm",
    duty_deliveries: "Notifying partners has stopped: phone security directly",
    duty_log_writer: "Writing the log fails: new alarms may not be saved! Call technical support",
    duty_other: "Background duty \"{name}\" has stopped",
    duty_since: " (since {t})",
    online: "Online",
    connecting: "Connecting",
    offline_pill: "Offline",
    signin_title: "Duty volunteer sign-in",
    signin_hint: "Enter your duty token. Clicking “Sign in” also lets the browser play the alarm sound.",
    token: "Token",
    signin: "Sign in and turn on the alarm sound",
    resume_hint: "Welcome back. The browser needs one click before it may play the alarm sound.",
    resume: "Start duty (turn on the alarm sound)",
    signout: "Sign out",
    bad_token: "That token is unknown or revoked. Check it and try again.",
    wrong_token: "That is not a duty volunteer's token; it cannot open the console.",
    no_server: "Cannot reach the server. Try again shortly.",
    tab_incidents: "Alarms",
    tab_rollcall: "Roll call",
    tab_log: "Incident log",
    sound_on: "Alarm sound: on",
    sound_playing: "Alarm sound: RINGING",
    sound_blocked: "Sound blocked by the browser: click here",
    new_alarm: "[NEW ALARM] ",
    queue: "Alarm queue",
    queue_empty: "No open incidents",
    map: "Grid map",
    legend_fresh: "Patrol member, live position (under {s} s)",
    legend_stale: "Position out of date (over {s} s)",
    legend_offline: "Offline (silent for {s} s)",
    legend_nofix: "On shift, no position yet",
    legend_incident: "Unacknowledged alarm (flashing)",
    legend_incident_ack: "Acknowledged incident",
    shortcuts: "Keys: A acknowledge · N next incident · Esc close",
    age: "{age} ago",
    age_bare: "{age}",
    opened_at: "Raised at",
    pressed_at: "Key pressed at",
    received_at: "Received at",
    received_later: "{d} after the press",
    pressed_clamped: "(the handheld's clock was off: corrected by the server)",
    since_press: "Since the key press",
    since_alarm: "Since the alarm",
    reporter: "Reported by",
    place: "Place",
    grid: "Grid",
    category: "Category",
    status: "Status",
    disposition: "Disposition",
    inside: "inside the grid",
    outside: "outside every grid by {m} m",
    by_fix: "from the alarm's own fix",
    by_reporter_fix: "from the reporter's last fix",
    by_reporter_grid: "no fix: the reporter's grid",
    responders: "Suggested responders (nearest first, kept up to date)",
    no_responders: "Nobody available to dispatch",
    skill_first: "first for {skills}: {m} m farther than the nearest",
    find_member: "Dispatch anyone else on shift: type a name or grid",
    find_none: "Nobody on shift matches",
    dispatch_selected: "Dispatch selected ({n})",
    acknowledge: "Acknowledge",
    acknowledged: "Acknowledged",
    add_note: "Add note",
    note_placeholder: "Note",
    resolve: "Resolve",
    resolve_title: "Resolve: choose the disposition (required)",
    resolve_note: "Closing note (optional)",
    pick_disposition: "Choose a disposition first",
    timeline: "Timeline",
    media: "Photos and clips from the scene",
    media_photo: "Photo",
    media_clip: "Clip",
    media_expired: "deleted after the retention period",
    close: "Close",
    reply_pending: "waiting for an answer",
    reply_accepted: "accepted, on the way",
    reply_declined: "declined",
    reply_arrived: "arrived",
    reply_done: "done",
    online_now: "online",
    offline_now: "offline",
    located_fix: "by a fix {age} s old",
    located_grid: "no fresh fix: by their grid",
    skill_fit: "skills fit: {skills}",
    meters: "{m} m",
    escalated_badge: "Escalated to security/police",
    actor_admin: "Admin",
    actor_dispatcher: "Duty volunteer {id}",
    actor_dispatcher_named: "Duty volunteer {name}",
    actor_partner: "partner {name}",
    actor_system: "System",
    source: "How it came",
    source_roll_call: "asked for help during roll call {n}",
    source_check_in: "missed a lone-worker check-in",
    unattended: "No console was staffed when it came in",
    nobody_reached: "Escalation reached nobody: no {to} partner covers this grid. Phone them yourself, now!",
    nobody_reached_badge: "Escalation reached nobody: phone",
    next_escalation: "escalates in {t}",
    escalation_due: "escalating now",
    rc_title: "Radio roll call",
    rc_all: "Roll call: all grids",
    rc_grid: "Call {grid}",
    rc_none: "No roll call yet. Start one with the buttons above.",
    rc_expected: "{n} expected",
    rc_unstaffed: "Nobody on shift",
    rc_all_normal: "All normal",
    rc_need_help: "Need help",
    rc_missing: "No answer yet",
    rc_silent: "No answer!",
    rc_deadline: "deadline {t}",
    rc_left: "{s} s left",
    rc_closed: "closed",
    rc_started: "started {t}",
    log_title: "Search the incident log",
    log_from: "From",
    log_to: "To",
    any: "Any",
    search: "Search",
    export_csv: "Export CSV",
    export_json: "Export JSON",
    export_bundle: "Export this incident (with photos and videos)",
    log_count: "{n} incidents",
    log_empty: "No incident matches",
    col_id: "No.",
    failed: "Failed: {msg}",
    // The map (issue 12): zoom buttons, responders marked on it.
    map_zoom_in: "Zoom in",
    map_zoom_out: "Zoom out",
    map_fit: "Fit all",
    legend_suggested: "Suggested responder (dashed line, with distance)",
    legend_dispatched: "Dispatched (green: accepted, amber: waiting)",
  },
};

const ENUMS = {
  zh: {
    category: {unknown: "未说明", medical: "医疗急救", fire: "火情", violence: "暴力", theft: "盗窃",
      dispute: "纠纷", disorder: "扰乱秩序", suspicious: "可疑情况", other: "其他"},
    status: {open: "新报警，未确认", acknowledged: "已确认", dispatched: "已派遣，等待答复",
      responding: "队员赶赴中", resolved: "已结案"},
    disposition: {true_alarm: "真实警情", false_alarm: "误报", test: "测试",
      handled_by_partner: "已交安保/警方处理"},
    skill: {medical: "医护", first_aid: "急救", fire_safety: "消防", security: "安保",
      psychology: "心理疏导", mediation: "调解"},
    partner: {security: "物业/酒店安保", police: "警务联络"},
    rc_status: {all_normal: "一切正常", need_help: "需要支援"},
  },
  en: {
    category: {unknown: "Unspecified", medical: "Medical", fire: "Fire", violence: "Violence",
      theft: "Theft", dispute: "Dispute", disorder: "Disorder", suspicious: "Suspicious",
      other: "Other"},
    status: {open: "New, not acknowledged", acknowledged: "Acknowledged",
      dispatched: "Dispatched, awaiting answer", responding: "Responder on the way",
      resolved: "Resolved"},
    disposition: {true_alarm: "True alarm", false_alarm: "False alarm", test: "Test",
      handled_by_partner: "Handled by security/police"},
    skill: {medical: "medical", first_aid: "first aid", fire_safety: "fire safety",
      security: "security", psychology: "psychology", mediation: "mediation"},
    partner: {security: "estate/hotel security", police: "police liaison"},
    rc_status: {all_normal: "All normal", need_help: "Need help"},
  },
};

// How each logged event reads in the timeline. {x} fields come from the event itself.
const EVENTS = {
  zh: {
    incident_opened: "报警：{who}按下报警键",
    incident_opened_roll_call: "{who}在第{roll_call_id}次点名时报告需要支援：{grid}，{place}",
    incident_opened_check_in: "{who}单人巡逻报平安超时，系统自动开启事件：{grid}，{place}",
    incident_acknowledged: "{who}确认收到",
    responders_dispatched: "{who}派遣：{members}",
    assignment_replied: "{member}{answer}",
    note_added: "{who}备注：{text}",
    incident_resolved: "{who}结案：{disposition}",
    incident_resolved_note: "{who}结案：{disposition}。结案说明：{note}",
    incident_escalated: "自动上报给{to}（{trigger}）",
    incident_escalated_named: "自动上报给{to}：{partners}（{trigger}）",
    incident_escalation_failed: "自动上报失败（{trigger}）：没有{to}负责本网格，无人收到",
    delivery_succeeded: "已通知合作方{partner}（第{attempt}次）",
    delivery_failed: "通知合作方{partner}失败（第{attempt}次：{result}），稍后重试",
    delivery_dead_lettered: "通知合作方{partner}彻底失败（{result}），请电话联系",
    partner_acknowledged: "合作方{partner}已确认",
    partner_update: "合作方{partner}消息：{text}",
    responder_status_arrived: "{member}已到场",
    responder_status_done: "{member}已处置完毕",
    category_changed: "{who}：类别改为{category}（原为{previous}）",
    member_offline: "{member}离线",
    member_online: "{member}恢复在线",
    check_in_overdue: "{member}报平安超时",
    incident_opened_team_watch: "{who}离队或失联且未确认平安，系统自动开启事件：{grid}，{place}",
    coverage_gap: "缺岗：{grid_id}在岗{on_shift}人，少于{minimum}人",
    coverage_restored: "{grid_id}在岗人数已恢复",
    team_drift: "{member}离队{distance_m}米",
    team_check_overdue: "{member}未确认平安",
    team_rejoined: "{member}已回到队伍",
    media_attached: "{who} 添加了照片",
    media_attached_clip: "{who} 添加了视频",
    media_expired: "{n}个照片或视频已按保存期限删除",
    answer_yes: "接受任务，正在赶来",
    answer_no: "拒绝任务",
    trigger: {immediate: "立即", no_ack: "无人确认", no_responder: "无人接受派遣",
      unattended: "无人值守"},
  },
  en: {
    incident_opened: "Alarm: {who} pressed the alarm key",
    incident_opened_roll_call: "{who} asked for help during roll call {roll_call_id}: {grid}, {place}",
    incident_opened_check_in: "{who} missed a lone-worker check-in; opened automatically: {grid}, {place}",
    incident_acknowledged: "{who} acknowledged",
    responders_dispatched: "{who} dispatched {members}",
    assignment_replied: "{member} {answer}",
    note_added: "{who} noted: {text}",
    incident_resolved: "{who} resolved it: {disposition}",
    incident_resolved_note: "{who} resolved it: {disposition}. Closing note: {note}",
    incident_escalated: "Escalated to {to} ({trigger})",
    incident_escalated_named: "Escalated to {to}: {partners} ({trigger})",
    incident_escalation_failed: "Escalation ({trigger}) reached nobody: no {to} partner covers this grid",
    delivery_succeeded: "Partner {partner} notified (try {attempt})",
    delivery_failed: "Notifying partner {partner} failed (try {attempt}: {result}); retrying",
    delivery_dead_lettered: "Notifying partner {partner} failed for good ({result}): phone them",
    partner_acknowledged: "Partner {partner} acknowledged",
    partner_update: "Update from partner {partner}: {text}",
    responder_status_arrived: "{member} arrived",
    responder_status_done: "{member} done",
    category_changed: "{who}: category set to {category} (was {previous})",
    member_offline: "{member} went offline",
    member_online: "{member} is back online",
    check_in_overdue: "{member} missed a check-in",
    incident_opened_team_watch: "{who} strayed or went silent and did not confirm; opened automatically: {grid}, {place}",
    coverage_gap: "Coverage gap: {grid_id} has {on_shift} on shift, fewer than {minimum}",
    coverage_restored: "{grid_id} is covered again",
    team_drift: "{member} is {distance_m} m from their team",
    team_check_overdue: "{member} did not confirm they are OK",
    team_rejoined: "{member} is back with their team",
    media_attached: "{who} added a photo",
    media_attached_clip: "{who} added a clip",
    media_expired: "{n} photo(s) or clip(s) deleted after the retention period",
    answer_yes: "accepted, on the way",
    answer_no: "declined",
    trigger: {immediate: "at once", no_ack: "nobody acknowledged", no_responder: "nobody accepted",
      unattended: "no console staffed"},
  },
};

let current = "zh";

export function lang() { return current; }

export function setLang(next) {
  current = next === "en" ? "en" : "zh";
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  document.querySelectorAll("[data-t-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.tPlaceholder);
  });
}

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));
}

export function t(key, vars = {}) {
  return fill(WORDS[current][key] ?? key, vars);
}

export function name(kind, value) {
  if (value === null || value === undefined) return "";
  return ENUMS[current][kind][value] ?? value;
}

/** Which wording an event takes: some types read differently by what they carry. */
function variant(ev) {
  switch (ev.type) {
    // A step that reached nobody must never read like one that reached someone.
    case "incident_escalated":
      return ev.problem ? "incident_escalation_failed" : ev.partner_ids?.length ? "incident_escalated_named" : ev.type;
    // A roll call's need_help or a lapsed check-in: nobody pressed the alarm key.
    case "incident_opened":
      return {roll_call: "incident_opened_roll_call", check_in: "incident_opened_check_in",
        team_watch: "incident_opened_team_watch"}[ev.source] ?? ev.type;
    case "incident_resolved":
      return ev.note ? "incident_resolved_note" : ev.type;
    case "media_attached":
      return ev.kind === "clip" ? "media_attached_clip" : ev.type;
    // A responder's word from the scene: arrived, or done there.
    case "responder_status":
      return `responder_status_${ev.status}`;
    default:
      return ev.type;
  }
}

export function eventText(ev, vars) {
  const words = EVENTS[current];
  const template = words[variant(ev)];
  if (!template) return ev.type;
  const merged = {...ev, ...vars};
  if (ev.type === "assignment_replied") merged.answer = ev.accept ? words.answer_yes : words.answer_no;
  if (ev.type === "incident_escalated") merged.trigger = words.trigger[ev.trigger] ?? ev.trigger;
  if (ev.type === "media_expired") merged.n = (ev.media_ids ?? []).length;
  if (ev.type === "category_changed") {
    merged.category = name("category", ev.category);
    merged.previous = name("category", ev.previous);
  }
  return fill(template, merged);
}

/** What opened the incident, when not the alarm key: a roll call's need_help, a check-in. */
export function sourceText(inc) {
  if (inc.source === "roll_call") return t("source_roll_call", {n: inc.roll_call_id});
  if (inc.source === "check_in") return t("source_check_in");
  if (inc.source === "team_watch") return t("source_team_watch");
  return "";
}

/** "name（G03）" in Chinese, "name (G03)" in English. */
export function paren(text, inner) {
  return current === "zh" ? `${text}（${inner}）` : `${text} (${inner})`;
}

/** A list as each language writes it. */
export function list(items) {
  return items.join(current === "zh" ? "、" : ", ");
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (current === "zh") return h ? `${h}小时${m}分` : m ? `${m}分${r}秒` : `${r}秒`;
  return h ? `${h} h ${m} min` : m ? `${m} min ${r} s` : `${r} s`;
}

export function clockTime(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString(current === "zh" ? "zh-CN" : "en-GB", {hour12: false});
}

export function dateTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(current === "zh" ? "zh-CN" : "en-GB", {hour12: false});
}
