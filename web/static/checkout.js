// Checkout form: submit the order, show the server's field errors, then wait for the
// Midtrans payment page and send the customer there.
(function () {
  "use strict";

  const POLL_INTERVAL_MS = 700;
  const POLL_LIMIT_MS = 60000;
  const REQUEST_TIMEOUT_MS = 10000;
  const DEFAULT_RETRY_AFTER_SECONDS = 60;
  const FIELDS = ["package_id", "name", "email", "phone", "discount_code"];
  const UNPAYABLE_STATUSES = ["FAILED", "EXPIRED", "REFUNDED"];
  const MESSAGES = {
    invalid: "Periksa kembali data yang ditandai.",
    network: "Gagal terhubung ke server. Periksa koneksi internet Anda lalu coba lagi.",
    busy: "Layanan sedang sibuk. Silakan coba lagi dalam beberapa saat.",
    server: "Terjadi kesalahan di server kami. Silakan coba lagi dalam beberapa saat.",
    preparing: "Menyiapkan pembayaran\u2026",
    failed: "Pembayaran tidak dapat dibuat. Silakan coba lagi.",
    slow: "Pembayaran masih disiapkan dan memakan waktu lebih lama dari biasanya. ",
    slowLink: "Pantau status pesanan Anda di sini",
    discountGone: "Kode diskon {code} sudah habis atau tidak berlaku lagi saat pesanan dibuat, " +
      "jadi pesanan ini memakai harga normal {amount}. ",
    discountGoneLink: "Lanjutkan pembayaran {amount}",
  };

  const form = document.getElementById("checkout-form");
  const payButton = document.getElementById("pay-button");
  const statusRegion = document.getElementById("checkout-status");
  const discountDetails = document.getElementById("discount");
  const payLabel = payButton.textContent;

  function delay(milliseconds) {
    return new Promise((resolve) => setTimeout(resolve, milliseconds));
  }

  /** fetch() that gives up, so one hanging request cannot stall the page. */
  async function fetchWithTimeout(url, options) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      return await fetch(url, Object.assign({}, options, { signal: controller.signal }));
    } finally {
      clearTimeout(timer);
    }
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (error) {
      return {};
    }
  }

  function showStatus(message, kind) {
    statusRegion.dataset.kind = kind || "";
    statusRegion.textContent = message;
  }

  function showStatusWithLink(message, linkText, href) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = linkText;
    showStatus(message, "info");
    statusRegion.append(link, ".");
    return link;
  }

  /** The code asked for was not applied (its last use went to another order a moment before):
   * the customer sees the price and chooses, instead of meeting it only on the payment page. */
  function showDiscountGone(code, snapshot) {
    const amount = window.formatRupiah(snapshot.amount);
    setBusy(false, payLabel);
    const link = showStatusWithLink(
      MESSAGES.discountGone.replace("{code}", code.toUpperCase()).replace("{amount}", amount),
      MESSAGES.discountGoneLink.replace("{amount}", amount),
      snapshot.redirect_url,
    );
    link.id = "continue-full-price";
  }

  function setBusy(busy, label) {
    payButton.disabled = busy;
    payButton.setAttribute("aria-busy", String(busy));
    payButton.textContent = label;
  }

  function fail(message) {
    showStatus(message, "error");
    setBusy(false, payLabel);
  }

  function clearFieldErrors() {
    for (const field of FIELDS) {
      document.getElementById("error-" + field).textContent = "";
      document.getElementById(field).removeAttribute("aria-invalid");
    }
  }

  /** Puts each message next to its field; returns the first visible field that has one. */
  function showFieldErrors(errors) {
    let firstInvalid = null;
    for (const field of FIELDS) {
      if (!errors[field]) continue;
      const input = document.getElementById(field);
      document.getElementById("error-" + field).textContent = errors[field];
      input.setAttribute("aria-invalid", "true");
      if (field === "discount_code") discountDetails.open = true;
      if (!firstInvalid && input.type !== "hidden") firstInvalid = input;
    }
    return firstInvalid;
  }

  function readForm() {
    const order = { package_id: form.elements.package_id.value };
    for (const field of ["name", "email", "phone"]) {
      order[field] = form.elements[field].value.trim();
    }
    const discountCode = form.elements.discount_code.value.trim();
    if (discountCode) order.discount_code = discountCode;
    return order;
  }

  /** Retry-After may be seconds or an HTTP date. */
  function retryAfterSeconds(header) {
    if (/^\d+$/.test(header || "")) return Math.max(1, Number(header));
    const retryAt = Date.parse(header || "");
    if (Number.isNaN(retryAt)) return DEFAULT_RETRY_AFTER_SECONDS;
    return Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
  }

  /** Keeps the order token on this device so the finish page can show the real status. */
  function rememberOrder(orderId, orderToken) {
    try {
      const orders = JSON.parse(localStorage.getItem("orders") || "{}");
      orders[orderId] = orderToken;
      localStorage.setItem("orders", JSON.stringify(orders));
      return true;
    } catch (error) {
      return false;
    }
  }

  function finishUrl(order, tokenRemembered) {
    const query = new URLSearchParams({ order_id: order.order_id });
    if (!tokenRemembered) query.set("token", order.order_token);
    return "/finish?" + query.toString();
  }

  /** The token rides along even if the server's status_url ever leaves it out. */
  function statusUrlWithToken(order) {
    const url = new URL(order.status_url, window.location.href);
    if (!url.searchParams.has("token")) url.searchParams.set("token", order.order_token);
    return url.toString();
  }

  async function fetchOrder(statusUrl) {
    try {
      const response = await fetchWithTimeout(statusUrl, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      return response.ok ? await response.json() : null;
    } catch (error) {
      return null;
    }
  }

  /** Polls until the payment page exists; a missed poll is retried, not reported. */
  async function waitForPaymentPage(order, tokenRemembered, discountCode) {
    setBusy(true, MESSAGES.preparing);
    showStatus(MESSAGES.preparing, "busy");
    const statusUrl = statusUrlWithToken(order);
    const deadline = Date.now() + POLL_LIMIT_MS;
    while (Date.now() < deadline) {
      const snapshot = await fetchOrder(statusUrl);
      if (snapshot && snapshot.redirect_url) {
        if (discountCode && !snapshot.discount_code) return showDiscountGone(discountCode, snapshot);
        return window.location.assign(snapshot.redirect_url);
      }
      if (snapshot && snapshot.status === "PAID") {
        return window.location.assign(finishUrl(order, tokenRemembered));
      }
      if (snapshot && UNPAYABLE_STATUSES.includes(snapshot.status)) return fail(MESSAGES.failed);
      await delay(POLL_INTERVAL_MS);
    }
    setBusy(false, payLabel);
    showStatusWithLink(MESSAGES.slow, MESSAGES.slowLink, finishUrl(order, tokenRemembered));
  }

  function showValidationErrors(body) {
    const firstInvalid = showFieldErrors(body.errors || {});
    fail(firstInvalid ? MESSAGES.invalid : body.title || MESSAGES.invalid);
    if (firstInvalid) firstInvalid.focus();
  }

  /** Blocks the button for as long as the server asked us to wait. */
  function showRateLimited(response) {
    const seconds = retryAfterSeconds(response.headers.get("Retry-After"));
    fail("Terlalu banyak percobaan, coba lagi dalam " + seconds + " detik.");
    payButton.disabled = true;
    setTimeout(() => {
      payButton.disabled = false;
      showStatus("", "");
    }, seconds * 1000);
  }

  async function handleCheckoutResponse(response, discountCode) {
    if (response.ok) {
      const order = await readJson(response);
      if (!order.order_id || !order.status_url) return fail(MESSAGES.server);
      const remembered = rememberOrder(order.order_id, order.order_token);
      return waitForPaymentPage(order, remembered, discountCode);
    }
    if (response.status === 422) return showValidationErrors(await readJson(response));
    if (response.status === 429) return showRateLimited(response);
    if (response.status === 503) return fail(MESSAGES.busy);
    return fail(MESSAGES.server);
  }

  async function submitCheckout(event) {
    event.preventDefault();
    if (payButton.disabled) return;
    clearFieldErrors();
    setBusy(true, "Memproses\u2026");
    showStatus("", "");
    const request = readForm();
    let response;
    try {
      response = await fetchWithTimeout("/api/checkout", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(request),
      });
    } catch (error) {
      return fail(MESSAGES.network);
    }
    return handleCheckoutResponse(response, request.discount_code);
  }

  /** Coming back from Midtrans with the Back button restores a frozen page; wake it up. */
  function resetRestoredPage(event) {
    if (!event.persisted) return;
    setBusy(false, payLabel);
    showStatus("", "");
  }

  form.addEventListener("submit", submitCheckout);
  window.addEventListener("pageshow", resetRestoredPage);
})();
