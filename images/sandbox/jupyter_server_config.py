# Jupyter server configuration baked into trustlab-sandbox (read-only in the container).
c = get_config()  # noqa: F821

# Cell audit: every execute_request that reaches a kernel through this server is recorded
# (spooled locally, then sent to the hub's audit service). See sandbox/audit.py.
c.ServerApp.jpserver_extensions = {"sandbox.audit": True}
c.ServerApp.kernel_websocket_connection_class = "sandbox.audit.AuditedWebsocketConnection"

# Cells are the audited unit of work: no terminals, no hidden files, no trash to restore.
c.ServerApp.terminals_enabled = False
c.ContentsManager.allow_hidden = False
c.FileContentsManager.delete_to_trash = False
c.ServerApp.open_browser = False

# File transfers (sandbox/transfers.py): downloads refused unless the platform allows them
# (TRUSTLAB_DOWNLOADS, from TRUSTLAB_SANDBOX_DOWNLOADS); uploads and downloads recorded.
c.ServerApp.contents_manager_class = "sandbox.transfers.TransferContentsManager"
c.FileContentsManager.files_handler_class = "sandbox.transfers.TransferFilesHandler"
