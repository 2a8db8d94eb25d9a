// Boot: load the app config, restore the login, route #/planner, #/dispatcher,
// #/supervisor and #/login, and keep the language switch in the top bar.
import { api, errorText, session, whenUnauthorized } from "./api.js";
import { applyI18n, lang, label, setLang, t, tl } from "./i18n.js";
import { el, setTimeZone, toast } from "./util.js";

const VIEWS = {
  planner: () => import("./planner.js"),
  dispatcher: () => import("./dispatcher.js"),
  supervisor: () => import("./supervisor.js"),
};
/** The view each role lands on after login. */
const HOME = { planner: "planner", dispatcher: "dispatcher", supervisor: "supervisor", admin: "supervisor" };

const root = document.getElementById("view");
const ctx = { config: { basemap: null, language: "zh" }, user: null };
let active = null; // {name, unmount}

async function boot() {
  try {
    ctx.config = await (await fetch("/web-config.json")).json();
  } catch {
    // keep defaults: no tiles
  }
  setTimeZone(ctx.config.timezone);
  if (!localStorage.getItem("gridservice.lang") && ctx.config.language === "en") setLang("en");
  applyI18n(document);
  updateLangButton();
  document.getElementById("lang-switch").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    updateLangButton();
    renderWho();
  });
  document.getElementById("logout").addEventListener("click", logout);
  whenUnauthorized(() => {
    ctx.user = null;
    location.hash = "#/login";
  });
  window.addEventListener("hashchange", route);
  if (session.token) {
    try {
      ctx.user = await api("/auth/me");
      session.user = ctx.user;
    } catch {
      session.set("", null);
    }
  }
  route();
}

function updateLangButton() {
  // the button names the other language, in that language
  document.getElementById("lang-switch").textContent = lang() === "zh" ? "English" : "中文";
}

function renderWho() {
  const who = document.getElementById("who");
  const user = ctx.user;
  who.textContent = user ? user.display_name || user.username : "";
  who.title = user ? `${user.username} · ${label("role", user.role)}` : "";
  document.getElementById("logout").hidden = !user;
  document.getElementById("nav").hidden = !user;
}

async function route() {
  const name = (location.hash.replace(/^#\/?/, "").split("?")[0] || "").trim();
  if (!ctx.user) {
    if (name !== "login") {
      location.hash = "#/login";
      return;
    }
    return show("login");
  }
  if (!VIEWS[name]) {
    location.hash = `#/${HOME[ctx.user.role] || "dispatcher"}`;
    return;
  }
  return show(name);
}

async function show(name) {
  if (active && active.name === name) return;
  if (active && active.unmount) active.unmount();
  active = { name };
  renderWho();
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === name));
  document.body.dataset.view = name;
  root.replaceChildren();
  if (name === "login") {
    active.unmount = loginView(root);
    return;
  }
  try {
    const module = await VIEWS[name]();
    if (!active || active.name !== name) return; // navigated away while loading
    active.unmount = module.mount(root, ctx);
  } catch (err) {
    console.error(err);
    toast(errorText(err), "error");
  }
}

function loginView(container) {
  const error = el("p", { class: "error", role: "alert" });
  const username = el("input", { id: "login-username", name: "username", autocomplete: "username", required: true });
  const password = el("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = el(
    "form",
    { class: "login-card", id: "login-form" },
    el("h1", {}, tl("app.title")),
    el("p", { class: "muted" }, tl("auth.welcome")),
    el("label", { for: "login-username" }, tl("auth.username")),
    username,
    el("label", { for: "login-password" }, tl("auth.password")),
    password,
    el("button", { type: "submit", class: "primary", id: "login-submit" }, tl("auth.login")),
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const result = await api("/auth/login", { method: "POST", body: { username: username.value.trim(), password: password.value } });
      session.set(result.access_token || result.token, result.user || null);
      ctx.user = result.user || (await api("/auth/me"));
      session.user = ctx.user;
      location.hash = `#/${HOME[ctx.user.role] || "dispatcher"}`;
    } catch (err) {
      error.textContent = err.status === 401 ? t("auth.failed") : errorText(err);
    }
  });
  container.append(el("div", { class: "login-page" }, form));
  username.focus();
  return null;
}

async function logout() {
  try {
    await api("/auth/logout", { method: "POST" });
  } catch {
    // the token is dropped below either way
  }
  session.set("", null);
  ctx.user = null;
  location.hash = "#/login";
  route();
}

boot();
