/* The household's grocery orders: the recent ones (cancel while still placed), and taking a new
   order from the catalogue (a retry after a lost answer sends the same Idempotency-Key). */
"use strict";

(() => {
  const { T, el, clear, $, state, armedButton, show, land, busy, newKey, api, showError, hideError, toast } = Operator;
  const yen = T.yen;

  const ORDER_LABELS = {
    placed: "受付済み",
    locked: "締め切り後・準備中",
    picked: "店で準備済み",
    at_base: "発送準備中",
    in_flight: "ドローンで配送中",
    on_the_road: "車で配送中",
    at_hall: "公民館に到着",
    handed_over: "お届け済み",
    cancelled: "取り消し",
  };

  function loadOrders() {
    const r = state.resident;
    if (!r.household_id) { renderOrders([]); return Promise.resolve(); }
    return api("GET", "/api/v1/orders?household_id=" + r.household_id).then(
      (orders) => { if (state.resident && state.resident.id === r.id) renderOrders(orders); },
      (err) => showError("order-error", err)
    );
  }

  function renderOrders(orders) {
    const list = clear($("order-list"));
    const recent = orders.slice().reverse().slice(0, 6);
    if (!recent.length) list.appendChild(el("li", { cls: "muted", text: "注文はありません。" }));
    recent.forEach((o) => {
      const names = o.lines.map((x) => x.name + "×" + x.quantity);
      const li = el("li", { cls: "order" + (o.status === "cancelled" ? " past" : ""), "data-id": "order-" + o.id }, [
        el("div", { cls: "row-head" }, [
          el("span", { cls: "when", text: T.dayLabel(o.delivery_date) + " お届け" }),
          el("span", { cls: "badge order-" + o.status, text: ORDER_LABELS[o.status] || o.status }),
          el("span", { cls: "amount", text: yen(o.total_yen) }),
        ]),
        el("div", { cls: "row-info", text: names.slice(0, 4).join("、") + (names.length > 4 ? " ほか" + (names.length - 4) + "品" : "") }),
      ]);
      if (o.status === "placed") {
        li.firstChild.appendChild(armedButton("注文を取り消す", "本当に取り消す", "/api/v1/orders/" + o.id + "/cancel", "order-error",
          () => { toast("注文を取り消しました。"); loadOrders().then(() => land($("order-list").querySelector('[data-id="order-' + o.id + '"]'))); },
          { cls: "small danger-quiet", "data-id": "order-cancel-" + o.id }));
      }
      list.appendChild(li);
    });
  }

  $("order-open").addEventListener("click", () => {
    hideError("order-error");
    const ready = state.catalog ? Promise.resolve(state.catalog) : api("GET", "/api/v1/catalog").then((c) => { state.catalog = c; return c; });
    ready.then(
      (items) => {
        const cats = [];
        items.forEach((p) => { if (cats.indexOf(p.category) < 0) cats.push(p.category); });
        const sel = clear($("category"));
        cats.forEach((c) => sel.appendChild(el("option", { value: c, text: c })));
        show($("order-form"), true);
        show($("order-open"), false);
        renderProducts();
        sel.focus();
      },
      (err) => showError("order-error", err)
    );
  });
  $("order-close").addEventListener("click", closeOrderForm);
  $("category").addEventListener("change", renderProducts);

  function closeOrderForm() {
    state.cart = {};
    state.orderRetry = null;
    show($("order-form"), false);
    show($("order-open"), true);
    updateCart();
  }

  function renderProducts() {
    const cat = $("category").value;
    const rows = clear($("product-rows"));
    (state.catalog || []).filter((p) => p.category === cat).forEach((p) => {
      const qty = el("input", {
        type: "number", min: "0", max: "99", value: String(state.cart[p.id] ? state.cart[p.id].quantity : 0),
        "aria-label": p.name + " の数", "data-id": "qty-" + p.id, cls: "qty",
      });
      qty.addEventListener("input", () => {
        const n = Math.max(0, Math.min(99, parseInt(qty.value, 10) || 0));
        if (n) state.cart[p.id] = { product: p, quantity: n };
        else delete state.cart[p.id];
        state.orderRetry = null;
        updateCart();
      });
      rows.appendChild(el("tr", {}, [el("td", { text: p.name }), el("td", { cls: "num", text: yen(p.price_yen) }), el("td", { cls: "num" }, [qty])]));
    });
  }

  function updateCart() {
    const lines = Object.values(state.cart);
    const total = lines.reduce((a, x) => a + x.quantity * x.product.price_yen, 0);
    $("cart-summary").textContent = lines.length
      ? "かご：" + lines.map((x) => x.product.name + "×" + x.quantity).join("、") + "　合計 " + yen(total)
      : "数を入れると、かごに入ります。";
    $("order-submit").disabled = !lines.length;
  }

  $("order-submit").addEventListener("click", () => {
    hideError("order-error");
    const lines = Object.values(state.cart).map((x) => ({ product_id: x.product.id, quantity: x.quantity }));
    if (!lines.length) return;
    const body = { household_id: state.resident.household_id, lines: lines };
    const key = state.orderRetry || newKey();
    busy($("order-submit"), true);
    api("POST", "/api/v1/orders", body, { "Idempotency-Key": key }).then(
      (o) => {
        toast("注文しました：" + T.dayLabel(o.delivery_date) + " お届け　合計 " + yen(o.total_yen));
        closeOrderForm();
        loadOrders().then(() => land($("order-list").querySelector('[data-id="order-' + o.id + '"]') || $("order-open")));
      },
      (err) => {
        state.orderRetry = err.status === 0 ? key : null;
        showError("order-error", err);
        $("order-submit").disabled = false;
        $("order-submit").focus();
      }
    ).finally(() => $("order-submit").classList.remove("busy"));
  });

  Object.assign(Operator, { loadOrders, closeOrderForm, updateCart });
})();
