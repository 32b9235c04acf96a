// One way to build the page's elements: h("button", {class: "primary", onclick: f}, "text").
// An attribute that is false, null or undefined is left out; children that are null are too.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k.startsWith("data-")) { if (v !== null && v !== undefined) node.dataset[toCamel(k.slice(5))] = v; }
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

function toCamel(name) {
  return name.replace(/-(\w)/g, (_, c) => c.toUpperCase());
}
