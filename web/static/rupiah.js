// Amounts as Indonesians write them, for every page that shows one (checkout, finish).
/** "Rp 99.000": whole rupiah with dots, the same on every device and locale. */
window.formatRupiah = function (amount) {
  const rupiah = String(Math.round(Number(amount)));
  return "Rp " + rupiah.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
};
