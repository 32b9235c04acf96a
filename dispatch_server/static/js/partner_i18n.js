// The partner page's own words, in Chinese (the default) and English. Words the duty
// console also uses (online, token, sign out, categories, statuses...) come from i18n.js;
// elements here carry data-pt="key" for these, data-t="key" for those, and `relabel`
// fills both in the language i18n.js is set to.

import {lang, name, setLang} from "./i18n.js";

const WORDS = {
  zh: {
    title: "安保合作方接警台",
    drill_mark: "演练",
    new_alarm: "【新上报】",
    signin_title: "合作方登录",
    signin_hint: "请输入调度中心发给贵单位的合作方令牌。点击“登录”的同时，浏览器会允许本页播放警报声音。",
    signin: "登录并开启警报声",
    resume_hint: "欢迎回来。浏览器需要您点击一次才能播放警报声音。",
    resume: "开始接警（开启警报声）",
    wrong_token: "这个令牌不是合作方令牌，不能打开本页。",
    list: "上报给贵单位的事件",
    list_empty: "目前没有上报给贵单位的事件。有新上报时本页会响铃。",
    pick_one: "请在左边选择一个事件",
    needs_ack: "待您确认",
    you_acked: "已确认",
    acknowledge: "确认收到（停止响铃）",
    acked_line: "贵单位已确认收到",
    resolved_line: "调度中心已结案：{disposition}",
    opened_at: "报警时间",
    age: "已过",
    grid: "网格",
    place: "坐标",
    note: "报警备注",
    centre: "调度中心",
    coming: "赶赴的队员",
    coming_n: "{n} 人",
    update_label: "向调度中心发送消息",
    update_placeholder: "例如：两名保安已到场",
    post_update: "发送消息",
    timeline: "事件经过",
    no_map: "地图上没有这个网格",
    map_hint: "图上标记：报警位置（仅供参考）",
    ev: {
      incident_escalated: "调度中心上报贵单位（{trigger}）",
      incident_escalated_other: "调度中心同时上报{to}（{trigger}）",
      incident_escalation_failed: "上报{to}未送达：本网格没有{to}",
      incident_acknowledged: "调度中心已确认收到报警",
      note_added: "调度中心备注：{text}",
      partner_acknowledged: "贵单位已确认收到",
      partner_acknowledged_other: "另一合作方已确认收到",
      partner_update: "贵单位消息：{text}",
      partner_update_other: "另一合作方消息：{text}",
      incident_resolved: "调度中心已结案：{disposition}",
      media_attached: "巡逻队员添加了现场照片",
      media_attached_clip: "巡逻队员添加了现场视频",
      category_changed: "报警人将类别改为{category}",
    },
    trigger: {immediate: "立即上报", no_ack: "报警无人确认", no_responder: "无队员接受派遣",
      unattended: "调度台无人值守"},
  },
  en: {
    title: "Partner alarm desk",
    drill_mark: "DRILL",
    new_alarm: "[ESCALATED] ",
    signin_title: "Partner sign-in",
    signin_hint: "Enter the partner token the dispatch centre gave you. Clicking “Sign in” also lets the browser play the alarm sound.",
    signin: "Sign in and turn on the alarm sound",
    resume_hint: "Welcome back. The browser needs one click before it may play the alarm sound.",
    resume: "Start (turn on the alarm sound)",
    wrong_token: "That is not a partner's token; it cannot open this page.",
    list: "Escalated to you",
    list_empty: "Nothing escalated to you now. This page rings when something is.",
    pick_one: "Choose an incident on the left",
    needs_ack: "Acknowledge!",
    you_acked: "Acknowledged",
    acknowledge: "Acknowledge (stop the alarm)",
    acked_line: "You have acknowledged it",
    resolved_line: "Closed by the dispatch centre: {disposition}",
    opened_at: "Raised at",
    age: "Age",
    grid: "Grid",
    place: "Lat, lon",
    note: "Alarm note",
    centre: "Dispatch centre",
    coming: "On the way",
    coming_n: "{n} patrol members",
    update_label: "Message to the dispatch centre",
    update_placeholder: "e.g. two guards are on site",
    post_update: "Send",
    timeline: "What happened",
    no_map: "This grid is not on the map",
    map_hint: "The mark on the map: where the alarm was raised (approximate)",
    ev: {
      incident_escalated: "The dispatch centre escalated it to you ({trigger})",
      incident_escalated_other: "The dispatch centre also called {to} ({trigger})",
      incident_escalation_failed: "Calling {to} reached nobody: no {to} covers this grid",
      incident_acknowledged: "The dispatch centre acknowledged the alarm",
      note_added: "Dispatch centre note: {text}",
      partner_acknowledged: "You acknowledged",
      partner_acknowledged_other: "Another partner acknowledged",
      partner_update: "Your message: {text}",
      partner_update_other: "Another partner's message: {text}",
      incident_resolved: "Closed by the dispatch centre: {disposition}",
      media_attached: "A patrol member added a photo from the scene",
      media_attached_clip: "A patrol member added a clip from the scene",
      category_changed: "The reporter set the category to {category}",
    },
    trigger: {immediate: "at once", no_ack: "nobody acknowledged the alarm",
      no_responder: "no patrol member accepted", unattended: "no duty console staffed"},
  },
};

function fill(text, vars) {
  return text.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));
}

/** A partner page word in the current language. */
export function pt(key, vars = {}) {
  return fill(WORDS[lang()][key] ?? key, vars);
}

/** How one partner-visible event reads, from this partner's side (`me`: its partner_id). */
export function partnerEventText(ev, me, vars = {}) {
  const words = WORDS[lang()];
  let key = ev.type;
  if (ev.type === "incident_escalated") {
    if (ev.problem) key = "incident_escalation_failed";
    else if (!(ev.partner_ids ?? []).includes(me)) key = "incident_escalated_other";
  }
  if (["partner_acknowledged", "partner_update"].includes(ev.type) && ev.partner_id !== me) key += "_other";
  if (ev.type === "media_attached" && ev.kind === "clip") key = "media_attached_clip";
  const template = words.ev[key];
  if (!template) return ev.type;
  const category = ev.type === "category_changed" ? name("category", ev.category) : ev.category;
  return fill(template, {...ev, category, trigger: words.trigger[ev.trigger] ?? ev.trigger ?? "", ...vars});
}

/** Switch (or re-apply) the language: i18n.js's [data-t] words, then this page's [data-pt]. */
export function relabel(next = lang()) {
  setLang(next);
  document.querySelectorAll("[data-pt]").forEach((el) => { el.textContent = pt(el.dataset.pt); });
  document.querySelectorAll("[data-pt-placeholder]").forEach((el) => {
    el.placeholder = pt(el.dataset.ptPlaceholder);
  });
}
