// Labels in Chinese (the default) and English. The choice sticks in localStorage.
// Static labels carry data-i18n="key" (text), data-i18n-ph (placeholder) or
// data-i18n-title (tooltip); applyI18n() rewrites them in place, so switching
// language keeps the state of the page. Views re-render their dynamic parts on
// the "langchange" event.
import { STRINGS } from "./strings.js";

const LANG_KEY = "gridservice.lang";
let current = localStorage.getItem(LANG_KEY) || "zh";

export function lang() {
  return current;
}

/** The label for `key`, with {name} placeholders filled from `params`. */
export function t(key, params = {}) {
  const entry = STRINGS[key];
  let text = entry ? entry[current] ?? entry.zh : key;
  for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, value);
  return text;
}

/** Label for a code value (a KPI, a status, a role...): key `${group}.${value}`, else the value itself. */
export function label(group, value) {
  const key = `${group}.${value}`;
  return STRINGS[key] ? t(key) : String(value ?? "");
}

export function applyI18n(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((node) => {
    node.textContent = t(node.dataset.i18n);
  });
  root.querySelectorAll("[data-i18n-ph]").forEach((node) => {
    node.placeholder = t(node.dataset.i18nPh);
  });
  root.querySelectorAll("[data-i18n-title]").forEach((node) => {
    node.title = t(node.dataset.i18nTitle);
  });
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  document.title = t("app.title");
}

/** Switch language (remembered), relabel the page and tell the views. */
export function setLang(value) {
  current = value === "en" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, current);
  applyI18n(document);
  window.dispatchEvent(new CustomEvent("langchange", { detail: current }));
}

/** An element label that follows the language: span with data-i18n. */
export function tl(key, tag = "span", attrs = {}) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.dataset.i18n = key;
  node.textContent = t(key);
  return node;
}
