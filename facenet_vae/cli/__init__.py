"""Command-line tools: one module per console command (facenet-vae-train, -generate, -evaluate, -export, -explore)."""
