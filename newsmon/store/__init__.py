"""Store backends behind the ports in newsmon.store.base (the composition root picks one)."""
