// Every word the admin pages show, in Chinese (the default) and English.
// Elements carry data-t="key"; code calls t("key", {name: value}).

const WORDS = {
  zh: {
    title: "社区网格调度 · 管理",
    lang_switch: "English",
    signout: "退出",
    signin_title: "管理员登录",
    signin_hint: "请输入管理员令牌。关闭此标签页即自动退出。",
    token: "令牌",
    signin: "登录",
    bad_token: "令牌无效或已作废，请核对后重试。",
    wrong_token: "这不是管理员令牌：值班员请打开调度台。",
    no_server: "连不上服务器，请稍后再试。",
    signed_in_as: "当前管理员：{name}",
    bootstrap_admin: "初始管理员令牌",
    tab_members: "队员",
    tab_dispatchers: "值班员",
    tab_partners: "合作方",
    tab_rules: "上报规则",
    tab_roster: "排班",
    tab_checkins: "报平安",
    tab_grids: "网格",
    tab_audit: "操作记录",
    tab_admins: "管理员",
    saved: "已保存",
    failed: "没有成功：{why}",
    working: "处理中…",
    save: "保存",
    cancel: "取消",
    edit: "修改",
    add: "添加",
    remove: "删除",
    name: "姓名",
    grid: "网格",
    grids: "负责网格",
    skills: "技能",
    status: "状态",
    active: "在用",
    deactivated: "已停用",
    deactivate: "停用",
    reactivate: "重新启用",
    rotate: "换新令牌",
    actions: "操作",
    created: "登记时间",
    none: "无",
    any: "任意",
    all_grids: "全部网格",
    confirm_deactivate: "确定停用“{name}”吗？其令牌立即作废，手台会被断开。",
    confirm_rotate: "确定为“{name}”换新令牌吗？旧令牌立即作废。",
    // tokens shown once
    token_title: "新令牌（只显示这一次）",
    token_hint: "请现在抄下或交给本人。关闭后无法再次查看，只能换新令牌。",
    token_for: "{who} 的令牌",
    secret_for: "{who} 的通知签名密钥",
    copy: "复制",
    copied: "已复制",
    close: "关闭",
    // members
    members_title: "巡逻队员",
    add_member: "登记新队员",
    devices: "手机",
    enrol: "手机登记码",
    enrol_title: "{name} 的手机登记码",
    enrol_hint: "在手机上打开此链接（或扫描队员卡上的二维码），24 小时内有效，只能用一次。",
    expires: "有效期至 {t}",
    print_cards: "打印所选队员卡",
    select: "选择",
    filter_grid: "按网格筛选",
    no_members: "还没有登记队员",
    // dispatchers and admins
    dispatchers_title: "值班员（调度台）",
    add_dispatcher: "登记新值班员",
    admins_title: "管理员",
    add_admin: "登记新管理员",
    yourself: "（您自己）",
    // partners
    partners_title: "合作方（保安、警务联络）",
    add_partner: "登记新合作方",
    kind: "类别",
    kind_security: "保安",
    kind_police: "警务联络",
    webhook: "通知网址（Webhook）",
    webhook_none: "无（只用合作方页面）",
    test_webhook: "发送测试通知",
    test_ok: "✔ 对方已收到：HTTP {code}，用时 {ms} 毫秒",
    test_bad: "✖ 对方回答 HTTP {code}，用时 {ms} 毫秒",
    test_error: "✖ 没有送达：{error}",
    answer_body: "对方回答的内容",
    pick_grids: "请至少选一个网格",
    accepts_drills: "也接收演练报警（合作方同意参加演练时才勾选）",
    drills: "演练",
    yes: "是",
    no: "否",
    // escalation rules
    rules_title: "自动上报规则",
    rules_explain: "默认规则按社区“1-3-5 分钟”响应圈设置：火情和暴力事件立即通知保安；没有值班员在岗时立即通知保安；报警 1 分钟（60 秒）无人确认，通知保安；3 分钟（180 秒）仍无人接单出发，通知警务联络。每条规则对每个事件最多触发一次。",
    trigger: "触发条件",
    trigger_immediate: "报警即刻",
    trigger_no_ack: "无人确认",
    trigger_no_responder: "无人接单",
    trigger_unattended: "无值班员在岗",
    to: "通知",
    after_s: "等待（秒）",
    category: "报警类别",
    add_rule: "添加一条规则",
    save_rules: "保存全部规则",
    rules_saved: "上报规则已保存",
    // roster
    roster_title: "本周排班",
    shift_morning: "早班",
    shift_evening: "晚班",
    save_slot: "保存此格",
    no_one: "无人",
    // check-ins
    checkins_title: "单人巡逻报平安",
    checkins_explain: "开启后，队员须每隔一段时间在手台上报平安；超时先提醒，再超过“逾期”时间即自动开报警事件。",
    target: "对象",
    target_grid: "整个网格",
    target_member: "单个队员",
    period_min: "间隔（分钟）",
    overdue_s: "逾期（秒）",
    switch_off: "关闭",
    set_rule: "设置",
    no_rules: "目前没有报平安规则",
    // grids
    grids_title: "网格地图",
    grids_explain: "上传 GeoJSON 文件（每个网格一个多边形）。先检查，地图上红色的是有错误的网格，错误写在旁边；全部无误后才能启用。",
    upload: "选择网格文件",
    checking: "正在检查…",
    not_json: "这个文件不是有效的 JSON：{why}",
    check_ok: "✔ 检查通过：可以启用",
    check_bad: "✖ 有 {n} 个问题，请改好文件后重新上传",
    apply: "启用这份网格",
    applied: "新网格已启用（第 {n} 版）",
    current_map: "当前地图",
    new_map: "上传的地图",
    added: "新增",
    changed: "有改动",
    unchanged: "未变",
    removed: "将删除",
    blocked_by: "不能删除，因为：",
    feature_n: "第 {n} 个图形",
    file_problem: "文件问题",
    // audit
    audit_title: "操作记录（谁在何时改了什么）",
    when: "时间",
    who: "管理员",
    what: "操作",
    details: "内容",
    more: "加载更早的记录",
    audit_empty: "还没有管理操作",
  },
  en: {
    title: "Grid patrol dispatch · Administration",
    lang_switch: "中文",
    signout: "Sign out",
    signin_title: "Administrator sign-in",
    signin_hint: "Enter an administrator token. Closing this tab signs you out.",
    token: "Token",
    signin: "Sign in",
    bad_token: "The token is unknown or revoked. Check it and try again.",
    wrong_token: "This is not an administrator token: duty volunteers use the console.",
    no_server: "Cannot reach the server. Try again shortly.",
    signed_in_as: "Administrator: {name}",
    bootstrap_admin: "the initial admin token",
    tab_members: "Members",
    tab_dispatchers: "Duty volunteers",
    tab_partners: "Partners",
    tab_rules: "Escalation",
    tab_roster: "Roster",
    tab_checkins: "Check-ins",
    tab_grids: "Grids",
    tab_audit: "Audit trail",
    tab_admins: "Administrators",
    saved: "Saved",
    failed: "That did not work: {why}",
    working: "Working…",
    save: "Save",
    cancel: "Cancel",
    edit: "Edit",
    add: "Add",
    remove: "Remove",
    name: "Name",
    grid: "Grid",
    grids: "Grids covered",
    skills: "Skills",
    status: "Status",
    active: "Active",
    deactivated: "Deactivated",
    deactivate: "Deactivate",
    reactivate: "Reactivate",
    rotate: "New token",
    actions: "Actions",
    created: "Registered",
    none: "none",
    any: "any",
    all_grids: "all grids",
    confirm_deactivate: "Deactivate \u201c{name}\u201d? Their tokens stop working at once and their handhelds are disconnected.",
    confirm_rotate: "Give \u201c{name}\u201d a new token? The old one stops working at once.",
    token_title: "New token (shown only this once)",
    token_hint: "Write it down or hand it over now. It cannot be shown again; only replaced.",
    token_for: "Token for {who}",
    secret_for: "Webhook signing secret for {who}",
    copy: "Copy",
    copied: "Copied",
    close: "Close",
    members_title: "Patrol members",
    add_member: "Register a member",
    devices: "Phones",
    enrol: "Phone code",
    enrol_title: "Phone enrolment code for {name}",
    enrol_hint: "Open this link on the phone (or scan the QR code on the member card). It works once, within 24 hours.",
    expires: "Valid until {t}",
    print_cards: "Print cards for the selected",
    select: "Select",
    filter_grid: "Show grid",
    no_members: "No members registered yet",
    dispatchers_title: "Duty volunteers (console)",
    add_dispatcher: "Register a duty volunteer",
    admins_title: "Administrators",
    add_admin: "Register an administrator",
    yourself: " (you)",
    partners_title: "Partners (security, police liaison)",
    add_partner: "Register a partner",
    kind: "Kind",
    kind_security: "Security",
    kind_police: "Police liaison",
    webhook: "Webhook URL",
    webhook_none: "none (partner page only)",
    test_webhook: "Send a test webhook",
    test_ok: "✔ Received: HTTP {code} in {ms} ms",
    test_bad: "✖ The receiver answered HTTP {code} in {ms} ms",
    test_error: "✖ Not delivered: {error}",
    answer_body: "What the receiver answered",
    pick_grids: "Pick at least one grid",
    accepts_drills: "Also receives drills (only if the partner agreed to take part)",
    drills: "Drills",
    yes: "yes",
    no: "no",
    rules_title: "Escalation rules",
    rules_explain: "The defaults follow the community's 1-3-5 minute response circles: fire and violence go to security at once; with no duty volunteer on watch, security is told at once; an alarm nobody acknowledges within 1 minute (60 s) goes to security; with no responder on the way after 3 minutes (180 s), the police liaison is told. Each rule fires at most once per incident.",
    trigger: "When",
    trigger_immediate: "at the alarm",
    trigger_no_ack: "not acknowledged",
    trigger_no_responder: "no responder",
    trigger_unattended: "no duty volunteer on watch",
    to: "Tell",
    after_s: "After (s)",
    category: "Category",
    add_rule: "Add a rule",
    save_rules: "Save all rules",
    rules_saved: "Escalation rules saved",
    roster_title: "This week's roster",
    shift_morning: "Morning",
    shift_evening: "Evening",
    save_slot: "Save this slot",
    no_one: "nobody",
    checkins_title: "Lone-worker check-ins",
    checkins_explain: "When on, members must check in on their handheld every period; a late check-in is warned first, and past the overdue time an incident opens by itself.",
    target: "For",
    target_grid: "a whole grid",
    target_member: "one member",
    period_min: "Every (min)",
    overdue_s: "Overdue after (s)",
    switch_off: "Switch off",
    set_rule: "Set",
    no_rules: "No check-in rules",
    grids_title: "Grid map",
    grids_explain: "Upload a GeoJSON file (one polygon per grid). It is checked first: grids drawn red have faults, written beside them. Only a file without faults can be applied.",
    upload: "Choose a grid file",
    checking: "Checking…",
    not_json: "This file is not valid JSON: {why}",
    check_ok: "✔ No faults: ready to apply",
    check_bad: "✖ {n} faults: fix the file and upload it again",
    apply: "Apply these grids",
    applied: "The new grids are live (set {n})",
    current_map: "Current map",
    new_map: "Uploaded map",
    added: "new",
    changed: "changed",
    unchanged: "unchanged",
    removed: "to be removed",
    blocked_by: "Cannot be removed while:",
    feature_n: "feature {n}",
    file_problem: "File problem",
    audit_title: "Audit trail (who changed what, when)",
    when: "When",
    who: "Administrator",
    what: "Action",
    details: "Details",
    more: "Load older entries",
    audit_empty: "No administrative changes yet",
  },
};

// What each event in the audit trail is called.
const ACTIONS = {
  zh: {
    member_registered: "登记队员", member_updated: "修改队员", member_deactivated: "停用队员",
    member_reactivated: "重新启用队员", dispatcher_registered: "登记值班员",
    dispatcher_deactivated: "停用值班员", dispatcher_reactivated: "重新启用值班员",
    partner_registered: "登记合作方", partner_updated: "修改合作方", partner_deactivated: "停用合作方",
    partner_reactivated: "重新启用合作方", token_rotated: "换新令牌",
    administrator_registered: "登记管理员", administrator_deactivated: "停用管理员",
    escalation_rules_replaced: "修改上报规则", roster_slot_set: "修改排班",
    check_in_rule_set: "设置报平安", grids_applied: "启用新网格", webhook_tested: "测试通知",
    enrolment_created: "生成手机登记码", drill_scheduled: "安排演练", device_revoked: "作废手机", shift_ended: "结束值勤",
  },
  en: {
    member_registered: "member registered", member_updated: "member changed",
    member_deactivated: "member deactivated", member_reactivated: "member reactivated",
    dispatcher_registered: "duty volunteer registered", dispatcher_deactivated: "duty volunteer deactivated",
    dispatcher_reactivated: "duty volunteer reactivated", partner_registered: "partner registered",
    partner_updated: "partner changed", partner_deactivated: "partner deactivated",
    partner_reactivated: "partner reactivated", token_rotated: "token replaced",
    administrator_registered: "administrator registered", administrator_deactivated: "administrator deactivated",
    escalation_rules_replaced: "escalation rules changed", roster_slot_set: "roster changed",
    check_in_rule_set: "check-in rule set", grids_applied: "grids applied", webhook_tested: "webhook tested",
    enrolment_created: "phone code made", drill_scheduled: "drill scheduled", device_revoked: "phone revoked", shift_ended: "shift ended",
  },
};

// Grid file faults, by the server's code; {params} come from the error.
const FAULTS = {
  zh: {
    not_feature: "不是 GeoJSON 要素（Feature）", bad_properties: "properties 不是对象",
    no_id: "没有编号：需要 id、grid_id 或 name", bad_id: "编号不是文字或数字",
    no_geometry: "没有图形", bad_geometry_type: "图形不是多边形（Polygon / MultiPolygon）",
    invalid_ring: "边界有误（{ring}）：{problem}", bad_position: "坐标有误：{position}",
    invalid_geometry: "图形无效（如边界自相交）：{message}",
    duplicate_id: "编号重复：与第 {n} 个图形相同", overlap: "与网格 {other} 重叠约 {area} 平方米",
    members: "仍有队员属于此网格：{ids}", open_incidents: "仍有未结事件：{ids}",
    partners: "仍有合作方负责此网格：{ids}", roster: "排班里还有：{ids}",
    check_in_rules: "报平安规则还针对它", escalation_rules: "上报规则还针对它：{ids}",
  },
  en: {
    not_feature: "not a GeoJSON Feature", bad_properties: "properties is not an object",
    no_id: "no id: needs id, grid_id or name", bad_id: "the id is not text or a number",
    no_geometry: "no geometry", bad_geometry_type: "the geometry is not a Polygon or MultiPolygon",
    invalid_ring: "bad boundary ({ring}): {problem}", bad_position: "bad coordinates: {position}",
    invalid_geometry: "invalid shape (e.g. a boundary crossing itself): {message}",
    duplicate_id: "duplicate id: the same as feature {n}", overlap: "overlaps grid {other} by about {area} m²",
    members: "members still belong to it: {ids}", open_incidents: "open incidents in it: {ids}",
    partners: "partners still cover it: {ids}", roster: "still on the roster: {ids}",
    check_in_rules: "a check-in rule still names it", escalation_rules: "escalation rules name it: {ids}",
  },
};

// What is wrong with a ring (`problem` of an invalid_ring fault).
const RING_PROBLEMS = {
  zh: {no_rings: "没有边界", not_a_list: "不是坐标列表", too_few: "坐标点太少（至少 4 个）",
    not_closed: "没有闭合（首尾两个坐标必须相同）"},
  en: {no_rings: "no rings", not_a_list: "not a list of positions", too_few: "too few positions (at least 4)",
    not_closed: "not closed (the first and last positions must be the same)"},
};

const SKILLS = {
  zh: {medical: "医护", first_aid: "急救", fire_safety: "消防", security: "安保", psychology: "心理疏导", mediation: "调解"},
  en: {medical: "medical", first_aid: "first aid", fire_safety: "fire safety", security: "security",
    psychology: "psychology", mediation: "mediation"},
};

const CATEGORIES = {
  zh: {unknown: "未说明", medical: "急病受伤", fire: "火情", violence: "暴力", theft: "盗窃", dispute: "纠纷",
    disorder: "扰乱秩序", suspicious: "可疑情况", other: "其他"},
  en: {unknown: "unspecified", medical: "medical", fire: "fire", violence: "violence", theft: "theft",
    dispute: "dispute", disorder: "disorder", suspicious: "suspicious", other: "other"},
};

let current = "zh";

export function lang() { return current; }

export function setLang(code) {
  current = code === "en" ? "en" : "zh";
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  document.title = t("title");
}

function fill(template, vars) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
}

export function t(key, vars = {}) {
  return fill(WORDS[current][key] ?? key, vars);
}

export function action(type) { return ACTIONS[current][type] ?? type; }
export function skill(code) { return SKILLS[current][code] ?? code; }
export function category(code) { return CATEGORIES[current][code] ?? code; }
export const SKILL_CODES = Object.keys(SKILLS.zh);
export const CATEGORY_CODES = Object.keys(CATEGORIES.zh);

/** One fault or blocker in the page's language; an unknown code falls back to the server's text. */
export function fault(err) {
  const template = FAULTS[current][err.code];
  if (!template) return err.message ?? err.code;
  const ids = (err.ids ?? []).join(current === "zh" ? "、" : ", ");
  const area = err.area_m2 === undefined ? "?" : Math.round(err.area_m2);
  const problem = RING_PROBLEMS[current][err.problem] ?? err.message;
  const ring = current === "zh" ? ringZh(err.ring ?? "") : err.ring;
  const position = JSON.stringify(err.position ?? null);
  return fill(template, {...err, ring, ids, area, problem, position, n: (err.other_index ?? 0) + 1,
    other: err.other_grid_id ?? "?"});
}

/** "exterior ring of polygon 2" -> "第2块的外边界"; "hole 1" -> "第1个内洞". */
function ringZh(ring) {
  const m = ring.match(/^(exterior ring|hole (\d+))(?: of polygon (\d+))?$/);
  if (!m) return {polygon: "多边形", polygons: "多边形列表"}[ring] ?? ring;
  const part = m[2] ? `第${m[2]}个内洞` : "外边界";
  return m[3] ? `第${m[3]}块的${part}` : part;
}

export function dateTime(iso) {
  if (!iso) return "";
  const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
  return d.toLocaleString(current === "zh" ? "zh-CN" : "en-GB", {hour12: false});
}
