"""What tests and measurements use and production never ships: the Midtrans/SMTP/WhatsApp
stand-ins (sandbox), the hostile-world run (chaos) and the end-to-end benchmark (benchmarks)."""
