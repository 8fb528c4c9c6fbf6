/* Sign in / create an organization. */

import { login, register } from "../api.js";
import { icon } from "../icons.js";
import { navigate } from "../router.js";
import { busy, h, mount } from "../ui.js";

const POINTS = [
  "Agents built from your SOP documents",
  "Phone, Amazon Connect and your website",
  "Live calls, handoffs and a human queue",
];

export function render(root) {
  let mode = new URLSearchParams(location.search).get("mode") === "register" ? "register" : "login";
  const card = h("div.auth-card");

  const draw = () => {
    const error = h("div.form-error", { role: "alert", hidden: true, "data-testid": "auth-error" });
    const email = h("input.input", { name: "email", type: "email", required: true, autocomplete: "email", placeholder: "you@company.com" });
    const password = h("input.input", {
      name: "password", type: "password", required: true, minlength: mode === "register" ? 8 : null,
      autocomplete: mode === "register" ? "new-password" : "current-password", placeholder: mode === "register" ? "At least 8 characters" : "Your password",
    });
    const organization = h("input.input", { name: "organization", required: true, maxlength: 120, autocomplete: "organization", placeholder: "Riverside Family Clinic" });
    const submit = h("button.btn.secondary", { type: "submit", "data-testid": "auth-submit" }, mode === "register" ? "Create account" : "Sign in");
    const form = h("form", { novalidate: true },
      mode === "register" ? h("label.field", h("span", "Organization"), organization) : null,
      h("label.field", h("span", "Work e-mail"), email),
      h("label.field", h("span", "Password"), password),
      error, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const problem = validate(mode, email.value, password.value, organization.value);
      if (problem) {
        error.textContent = problem;
        error.hidden = false;
        return;
      }
      try {
        await busy(submit, () => (mode === "register"
          ? register(email.value.trim(), password.value, organization.value.trim())
          : login(email.value.trim(), password.value)));
        const next = new URLSearchParams(location.search).get("next");
        navigate(next && next.startsWith("/console/") && !next.startsWith("/console/login") ? next : "/agents", { replace: true });
      } catch (exc) {
        error.textContent = exc.status === 401 ? "Wrong e-mail address or password." : exc.message;
        error.hidden = false;
      }
    });
    const tab = (which, label) => h("button", {
      type: "button", role: "tab", "aria-selected": String(mode === which), "data-testid": `tab-${which}`,
      onclick: () => { mode = which; draw(); },
    }, label);
    mount(card,
      h("h2", mode === "register" ? "Create your organization" : "Welcome back"),
      h("p", mode === "register" ? "Set up Oratio for your team in a minute." : "Sign in to manage your voice agents."),
      h("div.tabs", { role: "tablist" }, tab("login", "Sign in"), tab("register", "Create account")),
      form);
    (mode === "register" ? organization : email).focus();
  };

  mount(root, h("div.auth",
    h("section.auth-hero",
      h("span.blob.one"), h("span.blob.two"),
      h("div.wordmark", h("img", { src: "/console/static/img/mark.svg", alt: "" }), h("span", h("strong", "Oratio"), h("small", "Voice console"))),
      h("div",
        h("h1", "Your support playbook, ", h("em", "answering every call.")),
        h("p", "Turn standard operating procedures into voice agents, watch conversations as they happen, and step in the moment a caller needs a person."),
        h("ul", POINTS.map((point) => h("li", icon("check"), point)))),
      h("footer", "Runs on your own server · works offline")),
    h("section.auth-panel", card)));
  draw();
}

function validate(mode, email, password, organization) {
  if (mode === "register" && !organization.trim()) return "Enter your organization's name.";
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email.trim())) return "Enter a valid e-mail address.";
  if (!password) return "Enter your password.";
  if (mode === "register" && password.length < 8) return "Choose a password of at least 8 characters.";
  return "";
}
