/* The resident search: a name, kana or phone number as typed, narrowed here after the server's
   one-substring match; arrow keys through the results, "/" from anywhere. */
"use strict";

(() => {
  const { el, clear, $, state, normalise, api, say, selectTab, age } = Operator;

  const SEARCH_DELAY_MS = 250;

  /* The server matches one substring; several words ("いとう かずこ") or a phone number without
     hyphens are narrowed here. */
  function searchPlan(raw) {
    const words = normalise(raw).split(/[\s\u3000]+/).filter(Boolean);
    if (!words.length) return null;
    const digitsOnly = (w) => /^[\d-]+$/.test(w) && w.replace(/-/g, "").length >= 4;
    let serverQ = words.reduce((a, b) => (b.length > a.length ? b : a));
    if (words.length === 1 && digitsOnly(words[0]) && words[0].indexOf("-") < 0) {
      serverQ = words[0].slice(-4); // a number typed without hyphens: ask for its last digits
    }
    return { words: words, q: serverQ, limit: words.length > 1 || serverQ !== words[0] ? 200 : 50 };
  }
  function matches(r, words) {
    const name = r.name.replace(/\s/g, ""), kana = r.kana.replace(/\s/g, "");
    const phone = (r.phone || "").replace(/-/g, "");
    return words.every((w) => {
      const bare = w.replace(/-/g, "");
      return name.indexOf(w) >= 0 || kana.indexOf(w) >= 0 || (/^\d+$/.test(bare) && phone.indexOf(bare) >= 0) ||
        (r.phone || "").indexOf(w) >= 0 || String(r.id) === w;
    });
  }

  $("search").addEventListener("input", () => {
    clearTimeout(state.searchTimer);
    state.searchTimer = setTimeout(runSearch, SEARCH_DELAY_MS);
  });
  $("search").addEventListener("keydown", (ev) => {
    const first = $("results").querySelector("button");
    if (ev.key === "ArrowDown" && first) { ev.preventDefault(); first.focus(); }
    if (ev.key === "Enter" && first) { ev.preventDefault(); clearTimeout(state.searchTimer); first.click(); }
  });
  $("results").addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
    const all = Array.from($("results").querySelectorAll("button"));
    const i = all.indexOf(document.activeElement);
    if (i < 0) return;
    ev.preventDefault();
    if (ev.key === "ArrowUp" && i === 0) $("search").focus();
    else (all[ev.key === "ArrowDown" ? Math.min(i + 1, all.length - 1) : i - 1]).focus();
  });
  document.addEventListener("keydown", (ev) => {
    const tag = (document.activeElement && document.activeElement.tagName) || "";
    if (ev.key === "/" && !/INPUT|TEXTAREA|SELECT/.test(tag) && state.token) {
      ev.preventDefault();
      selectTab("residents");
      $("search").focus();
      $("search").select();
    }
  });

  function runSearch() {
    const plan = searchPlan($("search").value);
    const seq = ++state.searchSeq;
    const list = $("results");
    if (!plan) {
      clear(list);
      $("search-status").textContent = "名前・ふりがな・電話番号の一部を入れてください。";
      return;
    }
    $("search-status").textContent = "さがしています…";
    api("GET", "/api/v1/residents?limit=" + plan.limit + "&q=" + encodeURIComponent(plan.q)).then(
      (rows) => {
        if (seq !== state.searchSeq) return; // a newer search is under way
        const found = rows.filter((r) => matches(r, plan.words));
        clear(list);
        $("search-status").textContent = found.length
          ? found.length + " 人" + (found.length >= plan.limit ? "以上（もっとくわしく入れてください）" : "")
          : "見つかりません。別の書き方（ふりがな・電話番号）でためしてください。";
        found.forEach((r) => list.appendChild(resultItem(r)));
      },
      (err) => {
        if (seq === state.searchSeq) $("search-status").textContent = say(err);
      }
    );
  }


  function resultItem(r) {
    const flags = [];
    const state_ = { ended: "登録終了", paused: "休止中" }[r.status];
    if (state_) flags.push(el("span", { cls: "badge muted-badge", text: state_ }));
    else if (!r.eligible) flags.push(el("span", { cls: "badge muted-badge", text: "対象外" }));
    if (r.wheelchair) flags.push(el("span", { cls: "badge info", text: "車いす" }));
    const current = state.resident && state.resident.id === r.id;
    const b = el("button", {
      type: "button", cls: "result", "data-id": "resident-" + r.id, "aria-current": current ? "true" : null,
      on: { click: () => Operator.openResident(r.id) },
    }, [
      el("span", { cls: "line1" }, [el("strong", { text: r.name }), " ", el("span", { cls: "kana", text: r.kana })].concat(flags)),
      el("span", { cls: "line2", text: "No." + r.id + "　" + (r.phone || "電話なし") + "　" + age(r.birth_date) + "歳" }),
    ]);
    return el("li", {}, [b]);
  }
})();
