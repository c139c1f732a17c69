// Finish page: Midtrans sends the customer here with ?order_id=&transaction_status=..., which
// anyone can type. Only the order status API decides what we show, never those query values.
(function () {
  "use strict";

  const POLL_INTERVAL_MS = 2000;
  const POLL_LIMIT_MS = 10 * 60 * 1000;
  const REQUEST_TIMEOUT_MS = 10000;
  const ORDER_AGAIN = { id: "order-again-link", href: "/", text: "Pesan lagi" };
  const BACK_TO_SHOP = { id: "shop-link", href: "/", text: "Kembali ke halaman kursus" };
  // What Snap says when it sends the customer back; untrusted, so it only decides what we must
  // not offer: a second payment while the first may still be confirming.
  const MAY_BE_IN_FLIGHT = ["settlement", "capture", "pending"];
  const VIEWS = {
    LOADING: {
      title: "Memeriksa status pembayaran\u2026",
      message: "Mohon tunggu sebentar.",
    },
    processing: {
      title: "Menyiapkan pesanan\u2026",
      message: "Pesanan Anda sedang diproses. Halaman ini diperbarui otomatis.",
    },
    CREATED: {
      title: "Menyiapkan pembayaran\u2026",
      message: "Halaman pembayaran sedang dibuat. Halaman ini diperbarui otomatis.",
    },
    PENDING_PAYMENT: {
      title: "Menunggu pembayaran",
      message:
        "Kami belum menerima pembayaran Anda. Jika Anda sudah membayar, halaman ini " +
        "akan berubah otomatis dalam beberapa saat.",
      action: (order) =>
        order.redirect_url && {
          id: "continue-payment-link",
          href: order.redirect_url,
          text: "Lanjutkan pembayaran",
        },
    },
    CONFIRMING: {
      title: "Pembayaran sedang dikonfirmasi\u2026",
      message:
        "Kami sedang menunggu konfirmasi dari Midtrans. Jangan membayar lagi: halaman ini " +
        "berubah otomatis, dan kabarnya juga kami kirim ke email dan WhatsApp Anda.",
    },
    PAID: {
      title: "Pembayaran berhasil",
      message: "Terima kasih! Tautan akses kursus juga kami kirim ke email dan WhatsApp Anda.",
      action: (order) => ({
        id: "access-link",
        href: order.access_url,
        text: "Buka kursus sekarang",
      }),
    },
    PAID_WITHOUT_ACCESS: {
      title: "Pembayaran berhasil",
      message: "Terima kasih! Akses kursus Anda sedang disiapkan, tunggu sebentar.",
    },
    FAILED: {
      title: "Pembayaran gagal",
      message: "Pembayaran untuk pesanan ini tidak berhasil. Silakan pesan lagi.",
      action: () => ORDER_AGAIN,
    },
    EXPIRED: {
      title: "Waktu pembayaran habis",
      message: "Batas waktu pembayaran pesanan ini sudah lewat. Silakan pesan lagi.",
      action: () => ORDER_AGAIN,
    },
    REFUNDED: {
      title: "Pembayaran telah dikembalikan",
      message: "Dana pesanan ini sudah dikembalikan, sehingga akses kursus tidak aktif lagi.",
    },
    NO_TOKEN: {
      title: "Periksa email atau WhatsApp Anda",
      message:
        "Status pesanan tidak dapat ditampilkan di perangkat ini. Kabar pembayaran dan tautan " +
        "akses kursus kami kirim ke email dan WhatsApp yang Anda isi saat memesan.",
    },
    NO_ORDER: {
      title: "Tidak ada pesanan untuk ditampilkan",
      message: "Halaman ini menampilkan status pesanan setelah pembayaran.",
      action: () => BACK_TO_SHOP,
    },
    NOT_FOUND: {
      title: "Pesanan tidak ditemukan",
      message:
        "Tautan status ini tidak valid. Periksa email atau WhatsApp Anda untuk status pesanan.",
    },
    UNREACHABLE: {
      title: "Status belum dapat diperiksa",
      message:
        "Kami belum berhasil menghubungi server. Periksa koneksi internet Anda, lalu muat ulang " +
        "halaman ini. Kabar pembayaran juga kami kirim ke email dan WhatsApp Anda.",
    },
  };

  const statusBox = document.getElementById("order-status");
  const titleText = document.getElementById("order-status-title");
  const messageText = document.getElementById("order-status-message");
  const actionSlot = document.getElementById("order-status-action");
  const details = document.getElementById("order-details");
  const orderIdText = document.getElementById("order-id");
  const amountRow = document.getElementById("order-amount-row");
  const amountText = document.getElementById("order-amount");
  const pollNote = document.getElementById("order-poll-note");
  let shownView = "";

  function delay(milliseconds) {
    return new Promise((resolve) => setTimeout(resolve, milliseconds));
  }

  function storedOrders() {
    try {
      return JSON.parse(localStorage.getItem("orders") || "{}") || {};
    } catch (error) {
      return {};
    }
  }

  /** A ?token= link (from email or another device) is kept for the next visit too. */
  function orderToken(orderId, query) {
    const tokenInLink = query.get("token");
    if (!tokenInLink) return storedOrders()[orderId] || null;
    try {
      const orders = storedOrders();
      orders[orderId] = tokenInLink;
      localStorage.setItem("orders", JSON.stringify(orders));
    } catch (error) {
      /* Private browsing may refuse storage; the link still carries the token. */
    }
    return tokenInLink;
  }

  function actionLink(action) {
    const link = document.createElement("a");
    link.id = action.id;
    const emphasis = action.id === "access-link" ? "button-primary" : "button-secondary";
    link.className = "button " + emphasis;
    link.href = action.href;
    link.textContent = action.text;
    return link;
  }

  /** Touches the page only when something changed, so screen readers are not spammed. */
  function showView(status, viewName, order) {
    const view = VIEWS[viewName] || VIEWS.LOADING;
    const action = view.action ? view.action(order || {}) : null;
    const fingerprint = [status, viewName, action && action.href].join("|");
    if (fingerprint === shownView) return;
    shownView = fingerprint;
    statusBox.dataset.status = status;
    statusBox.dataset.view = viewName;
    titleText.textContent = view.title;
    messageText.textContent = view.message;
    actionSlot.replaceChildren(...(action ? [actionLink(action)] : []));
  }

  function showDetails(orderId, amount) {
    orderIdText.textContent = orderId;
    details.hidden = false;
    if (amount === null || amount === undefined) return;
    amountText.textContent = window.formatRupiah(amount);
    amountRow.hidden = false;
  }

  function viewNameFor(order, mayBeInFlight) {
    if (order.status === "PAID" && !order.access_url) return "PAID_WITHOUT_ACCESS";
    if (order.status === "PENDING_PAYMENT" && mayBeInFlight) return "CONFIRMING";
    return order.status;
  }

  /** PAID with its link and REFUNDED are final; FAILED and EXPIRED may still turn PAID. */
  function isSettled(order) {
    return (order.status === "PAID" && Boolean(order.access_url)) || order.status === "REFUNDED";
  }

  /** Returns the order, "not-found", or null when this poll did not get an answer. */
  async function fetchOrder(orderId, token) {
    const query = new URLSearchParams({ token: token });
    const url = "/api/orders/" + encodeURIComponent(orderId) + "?" + query.toString();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        cache: "no-store",
        signal: controller.signal,
      });
      if (response.status === 404) return "not-found";
      return response.ok ? await response.json() : null;
    } catch (error) {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** After the time limit the last real status stays up, with a hint to reload. */
  function stopFollowing(answered) {
    if (!answered) showView("UNREACHABLE", "UNREACHABLE");
    pollNote.hidden = false;
  }

  async function followOrder(orderId, token, mayBeInFlight) {
    const deadline = Date.now() + POLL_LIMIT_MS;
    let answered = false;
    while (Date.now() < deadline) {
      const order = await fetchOrder(orderId, token);
      if (order === "not-found") return showView("NOT_FOUND", "NOT_FOUND");
      if (order) {
        answered = true;
        showDetails(order.order_id || orderId, order.amount);
        showView(order.status, viewNameFor(order, mayBeInFlight), order);
        if (isSettled(order)) return;
      }
      await delay(POLL_INTERVAL_MS);
    }
    stopFollowing(answered);
  }

  function start() {
    const query = new URLSearchParams(window.location.search);
    const orderId = query.get("order_id");
    if (!orderId) return showView("NO_ORDER", "NO_ORDER");
    showDetails(orderId, null);
    const token = orderToken(orderId, query);
    if (!token) return showView("NO_TOKEN", "NO_TOKEN");
    const claimed = (query.get("transaction_status") || "").toLowerCase();
    return followOrder(orderId, token, MAY_BE_IN_FLIGHT.includes(claimed));
  }

  start();
})();
