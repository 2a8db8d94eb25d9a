// The one place that talks to the server (/api/v1). Views call api()/apiGeo()
// and get parsed JSON back, or an ApiError carrying the status and detail.

const BASE = "/api/v1";
const TOKEN_KEY = "gridservice.token";

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

export const session = {
  token: localStorage.getItem(TOKEN_KEY) || "",
  user: null,
  set(token, user) {
    this.token = token || "";
    this.user = user || null;
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  },
};

/** Listeners told when the server says the login is gone (401). */
const onUnauthorized = [];
export function whenUnauthorized(fn) {
  onUnauthorized.push(fn);
}

function url(path, query) {
  const full = /^\/(api|maps|ogc)\/|^\/web-/.test(path) ? path : BASE + path;
  const u = new URL(full, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
    else u.searchParams.set(k, v);
  }
  return u;
}

/** Paths that never trade the refresh cookie for a new access token. */
const NO_REFRESH = /^\/auth\/(login|refresh|logout)$/;
let refreshing = null;

/** A new access token from the refresh cookie (one request however many calls wait); whether it worked. */
function refreshLogin() {
  refreshing ||= fetch(url("/auth/refresh"), { method: "POST", headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(async (r) => {
      if (!r.ok) return false;
      const data = await r.json();
      session.set(data.access_token, data.user);
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function send(path, { method, body, query, form, signal }) {
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  return fetch(url(path, query), { method, headers, body: payload, signal, credentials: "same-origin" });
}

/**
 * Call the API. `path` is relative to /api/v1 ("/grids").
 * Options: method, body (sent as JSON), query (object), form (URLSearchParams), raw (return the Response).
 * An expired access token is refreshed once (the login lasts the shift) and the call repeated.
 */
export async function api(path, { method = "GET", body, query, form, raw = false, signal } = {}) {
  const options = { method, body, query, form, signal };
  let response = await send(path, options);
  if (response.status === 401 && !NO_REFRESH.test(path) && (await refreshLogin())) {
    response = await send(path, options);
  }
  if (response.status === 401 && !path.includes("/auth/")) {
    session.set("", null);
    onUnauthorized.forEach((fn) => fn());
  }
  if (!response.ok) {
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    const detail = data && (data.detail ?? data.message) ? data.detail ?? data.message : response.statusText;
    throw new ApiError(response.status, detail, data);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

/** A readable line for an error caught from api(). */
export function errorText(err) {
  if (!(err instanceof ApiError)) return String(err && err.message ? err.message : err);
  const d = err.detail;
  if (Array.isArray(d)) {
    // FastAPI validation errors: [{loc: [...], msg: "..."}]
    return d.map((x) => `${(x.loc || []).filter((p) => p !== "body").join(".")}: ${x.msg}`).join("; ");
  }
  return typeof d === "string" ? d : JSON.stringify(d);
}
