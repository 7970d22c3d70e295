// The console's ESCO skill picker, made better with a script (the page works without it: the
// search box is a GET form that lists matches in a select). Here the search box becomes a
// combobox (WAI-ARIA APG "list autocomplete"): matches appear as the trainer types, arrow keys
// move, Enter or a click picks, Escape closes; a pick fills the skill's URI and label and is
// announced to screen readers. Matches come from GET /issuer/console/skills (same origin, CSP).
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("input[data-esco-search]")) {
    const type = box.dataset.escoSearch;
    const list = document.getElementById(`esco-list-${type}`);
    const status = document.querySelector(`[data-esco-status="${type}"]`);
    const form = box.closest("section").querySelector("form[method='post']");
    let skills = [], active = -1, timer = 0, asked = 0;
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", list.id);
    box.setAttribute("aria-expanded", "false");

    const close = () => {
      list.hidden = true; active = -1;
      box.setAttribute("aria-expanded", "false"); box.removeAttribute("aria-activedescendant");
    };
    const mark = (i) => {
      active = i;
      list.querySelectorAll("li").forEach((li, n) => li.setAttribute("aria-selected", String(n === i)));
      if (i < 0) { box.removeAttribute("aria-activedescendant"); return; }
      const li = list.children[i];
      box.setAttribute("aria-activedescendant", li.id);
      li.scrollIntoView({block: "nearest"});
    };
    const show = () => {
      list.replaceChildren(...skills.map((s, i) => {
        const li = document.createElement("li");
        li.id = `esco-${type}-${i}`; li.setAttribute("role", "option"); li.setAttribute("aria-selected", "false");
        li.lang = "en"; li.dir = "ltr";  // ESCO labels are English, also on a right-to-left page
        li.textContent = s.label;
        if (s.also) { const also = document.createElement("small"); also.textContent = s.also; li.append(also); }
        li.addEventListener("mousedown", (e) => e.preventDefault());  // keep focus in the box
        li.addEventListener("click", () => pick(i));
        return li;
      }));
      list.hidden = skills.length === 0;
      box.setAttribute("aria-expanded", String(skills.length > 0));
      status.textContent = list.dataset[skills.length ? "found" : "none"].replace("{count}", skills.length);
      mark(-1);
    };
    const pick = (i) => {
      const s = skills[i];
      let uri = form.querySelector(`[data-esco-uri="${type}"]`);
      if (uri.tagName === "SELECT" && ![...uri.options].some((o) => o.value === s.uri)) {
        uri.add(new Option(s.label, s.uri));
      }
      uri.value = s.uri;
      const label = form.querySelector(`[data-esco-label="${type}"]`);
      if (label) label.value = s.label;
      box.value = s.label;
      close();
      status.textContent = list.dataset.picked.replace("{label}", s.label);
    };
    box.addEventListener("input", () => {
      clearTimeout(timer);
      const q = box.value.trim();
      if (!q) { skills = []; close(); return; }
      timer = setTimeout(async () => {
        const mine = ++asked;
        const reply = await fetch(`/issuer/console/skills?q=${encodeURIComponent(q)}`, {credentials: "same-origin"});
        if (!reply.ok || mine !== asked) return;
        skills = (await reply.json()).skills; show();
      }, 150);
    });
    box.addEventListener("keydown", (e) => {
      const open = !list.hidden && skills.length > 0;
      if (e.key === "ArrowDown" && open) { e.preventDefault(); mark((active + 1) % skills.length); }
      else if (e.key === "ArrowUp" && open) { e.preventDefault(); mark((active - 1 + skills.length) % skills.length); }
      else if (e.key === "Enter" && open && active >= 0) { e.preventDefault(); pick(active); }
      else if (e.key === "Escape" && open) { e.preventDefault(); close(); }
    });
    box.addEventListener("blur", () => setTimeout(close, 100));
  }
});
