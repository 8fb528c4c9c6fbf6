/* The agent configuration form (voice, greeting, language, numbers, handoff, business hours,
 * recording), shared by the create wizard and the settings page. `value()` is the PATCH body. */

import { h } from "../ui.js";

export const VOICES = [
  ["tiffany", "Tiffany · English (US)"], ["matthew", "Matthew · English (US)"], ["amy", "Amy · English (UK)"],
  ["olivia", "Olivia · English (AU)"], ["kiara", "Kiara · English (IN), Hindi"], ["arjun", "Arjun · English (IN), Hindi"],
  ["ambre", "Ambre · French"], ["florian", "Florian · French"], ["beatrice", "Beatrice · Italian"],
  ["lorenzo", "Lorenzo · Italian"], ["greta", "Greta · German"], ["lennart", "Lennart · German"],
  ["lupe", "Lupe · Spanish (US)"], ["carlos", "Carlos · Spanish (US)"], ["carolina", "Carolina · Portuguese (BR)"],
  ["leo", "Leo · Portuguese (BR)"], ["tina", "Tina"],
];
export const LANGUAGES = [
  ["en-US", "English (US)"], ["en-GB", "English (UK)"], ["en-AU", "English (Australia)"], ["en-IN", "English (India)"],
  ["fr-FR", "French"], ["it-IT", "Italian"], ["de-DE", "German"], ["es-US", "Spanish (US)"], ["pt-BR", "Portuguese (Brazil)"], ["hi-IN", "Hindi"],
];
const ENDPOINTING = [["HIGH", "Responsive: answers quickly"], ["MEDIUM", "Balanced"], ["LOW", "Patient: lets callers pause"]];
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
const E164 = /^\+[1-9]\d{6,14}$/;

function select(name, options, value) {
  return h("select.select", { name }, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

/** A chip list editor; Enter or comma adds, × removes. */
function chipsInput({ values, placeholder, check, testid }) {
  const items = [...values];
  const input = h("input", { placeholder, "aria-label": placeholder, "data-testid": testid });
  const box = h("div.chips", { onclick: () => input.focus() });
  const error = h("small.chip-error", { hidden: true });
  const draw = () => {
    box.replaceChildren(...items.map((item, i) => h("span.chip", item,
      h("button", { type: "button", "aria-label": `Remove ${item}`, onclick: () => { items.splice(i, 1); draw(); } }, "×"))), input);
  };
  const add = () => {
    const text = input.value.trim().replace(/,$/, "");
    if (!text) return true;
    const problem = check ? check(text) : "";
    error.hidden = !problem;
    error.textContent = problem;
    input.setAttribute("aria-invalid", String(Boolean(problem)));
    if (problem) return false;
    if (!items.includes(text)) items.push(text);
    input.value = "";
    draw();
    input.focus();
    return true;
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === ",") { event.preventDefault(); add(); }
    else if (event.key === "Backspace" && !input.value && items.length) { items.pop(); draw(); }
  });
  input.addEventListener("blur", add);
  draw();
  return { element: h("div.field-stack", box, error), values: () => (add() ? [...items] : null) };
}

function toggle(name, label, checked) {
  return h("label.switch", h("input", { type: "checkbox", name, checked }), h("span", label));
}

/** Build the form for `config` (an AgentConfig from the API). */
export function configForm(config) {
  const handoff = config.handoff;
  const hours = config.business_hours;
  const phones = chipsInput({
    values: config.phone_numbers, placeholder: "+14155550100, then Enter", testid: "phone-input",
    check: (v) => (E164.test(v) ? "" : `${v} is not an E.164 number like +14155550100`),
  });
  const phrases = chipsInput({ values: handoff.phrases, placeholder: "Add a phrase, then Enter", testid: "phrase-input" });
  const digits = h("div.digit-grid", { role: "group", "aria-label": "Keypad digits that transfer to a person" },
    DIGITS.map((d) => h("label.digit", h("input", { type: "checkbox", value: d, checked: handoff.dtmf[d] === "transfer" }), h("span", d))));
  const alwaysOpen = h("input", { type: "checkbox", checked: Object.keys(hours.days).length === 0 });
  const dayRows = DAYS.map((day, i) => {
    const span = hours.days[i] || hours.days[String(i)] || "";
    const [start, end] = span ? span.split("-") : ["09:00", "17:00"];
    return h("div.day-row", { "data-day": i },
      h("label.switch", h("input", { type: "checkbox", name: `open-${i}`, checked: Boolean(span) || (!Object.keys(hours.days).length && i < 5) }), h("span", day)),
      h("input.input.sm", { type: "time", name: `start-${i}`, value: start, "aria-label": `${day} opens` }),
      h("span.muted", "to"),
      h("input.input.sm", { type: "time", name: `end-${i}`, value: end, "aria-label": `${day} closes` }));
  });
  const schedule = h("div.day-rows", { hidden: alwaysOpen.checked }, dayRows);
  alwaysOpen.addEventListener("change", () => { schedule.hidden = alwaysOpen.checked; });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

  const form = h("form.config-form", { novalidate: true, "data-testid": "config-form" },
    section("Voice and greeting", "How the agent sounds and what it says first.",
      h("div.grid-voice",
        h("label.field", h("span", "Voice"), select("voice", VOICES, config.voice)),
        h("label.field", h("span", "Language"), select("language", LANGUAGES, config.language)),
        h("label.field", h("span", "Turn-taking"), select("endpointing", ENDPOINTING, config.endpointing))),
      h("label.field", h("span", "Greeting"), h("textarea.textarea", { name: "greeting", maxlength: 500, rows: 2 }, config.greeting))),
    section("Phone numbers", "Numbers (E.164) that ring this agent on Twilio or Amazon Connect.",
      h("div.field", phones.element),
      toggle("record_calls", "Record calls (stereo WAV: caller left, agent right)", config.record_calls)),
    section("Handoff to a person", "When the agent hands the call over, and where it goes.",
      h("div.grid-2",
        h("label.field", h("span", "Target queue"), h("input.input", { name: "queue", value: handoff.queue, maxlength: 64, required: true })),
        h("label.field", h("span", "Transfer number or SIP URI"), h("input.input", { name: "target", value: handoff.target, placeholder: "Empty: wait in the console queue" }))),
      h("div.field", h("span.label", "Phrases that ask for a person"), phrases.element),
      h("div.grid-2",
        h("div.field", h("span.label", "Keypad digits that transfer"), digits),
        h("div.stack",
          h("label.field", h("span", "Hand over after the same question"), h("input.input", { name: "max_repeats", type: "number", min: 1, max: 10, value: handoff.max_repeats }),
            h("small", "times without progress")),
          h("label.field", h("span", "Hand over upset callers at sentiment"), h("input.input", { name: "negative_sentiment_threshold", type: "number", min: -1, max: 0, step: 0.1, value: handoff.negative_sentiment_threshold }),
            h("small", "-1 (very upset) … 0 (neutral)")))),
      h("label.field", h("span", "What the agent says when handing over"), h("textarea.textarea", { name: "hand_over_line", maxlength: 500, rows: 2 }, handoff.hand_over_line)),
      toggle("warm", "Warm transfer (the person hears the AI's summary first)", handoff.warm)),
    section("Business hours", "Outside these hours calls go straight to a person.",
      h("div.grid-2",
        h("label.field", h("span", "Time zone"), h("input.input", { name: "timezone", value: hours.timezone, list: "oratio-zones", autocomplete: "off" }),
          h("datalist", { id: "oratio-zones" }, zones.map((z) => h("option", { value: z })))),
        h("div.field", h("span.label", "Schedule"), h("label.switch", alwaysOpen, h("span", "Always open")))),
      schedule));

  const field = (name) => form.elements.namedItem(name);
  return {
    element: form,
    /** The PATCH body, or throws Error with a message for the first invalid field. */
    value() {
      const numbers = phones.values();
      if (numbers === null) throw new Error("Fix the phone number before saving.");
      const days = {};
      if (!alwaysOpen.checked) {
        dayRows.forEach((row, i) => {
          if (!field(`open-${i}`).checked) return;
          const start = field(`start-${i}`).value;
          const end = field(`end-${i}`).value;
          if (!start || !end || start >= end) throw new Error(`${DAYS[i]}: the closing time must be after the opening time.`);
          days[i] = `${start}-${end}`;
        });
        if (!Object.keys(days).length) throw new Error("Choose at least one open day, or switch on Always open.");
      }
      return {
        voice: field("voice").value,
        language: field("language").value,
        endpointing: field("endpointing").value,
        greeting: field("greeting").value.trim(),
        phone_numbers: numbers,
        record_calls: field("record_calls").checked,
        handoff: {
          queue: field("queue").value.trim(),
          target: field("target").value.trim(),
          warm: field("warm").checked,
          phrases: phrases.values() || [],
          dtmf: Object.fromEntries([...digits.querySelectorAll("input:checked")].map((i) => [i.value, "transfer"])),
          max_repeats: Number(field("max_repeats").value),
          negative_sentiment_threshold: Number(field("negative_sentiment_threshold").value),
          hand_over_line: field("hand_over_line").value.trim(),
        },
        business_hours: { timezone: field("timezone").value.trim() || "UTC", days },
      };
    },
  };
}

function section(title, text, ...children) {
  return h("fieldset.form-section", h("legend", h("h2", title), h("p.muted", text)), h("div.stack", children));
}
