-- convex-xray for Neovim 0.11+ (built-in LSP client, no plugins needed).
--
-- Install the server from a checkout (convex-xray is not on PyPI):  pipx install path/to/convex-xray
-- Use: put this file on your runtimepath (e.g. ~/.config/nvim/plugin/convex_xray.lua)
--      or `dofile` it from init.lua, then:
--        vim.lsp.enable("convex_xray")
-- Override anything with a later vim.lsp.config("convex_xray", { ... }) call; tables merge.
-- Commands: :ConvexXrayFixAll applies every fix in the buffer (safe ones; unsafe ones too
-- with settings.convexXray.unsafeFixes = true). Quick fixes: vim.lsp.buf.code_action()
-- (`gra`). Code lenses are shown and refreshed on attach, BufEnter, InsertLeave and write.

vim.lsp.config("convex_xray", {
  cmd = { "convex-xray", "lsp" },
  filetypes = { "typescript", "typescriptreact", "javascript", "javascriptreact" },
  -- The project root is the folder holding convex.json or the convex/ directory.
  root_markers = { "convex.json", "convex", "package.json", ".git" },
  -- Answered to the server's workspace/configuration request (section "convexXray").
  settings = {
    convexXray = {
      run = "onType", -- or "onSave"
      debounceMs = 0,
      unsafeFixes = false,
      select = {},
      ignore = {},
      severity = vim.empty_dict(), -- e.g. { ["unbounded-collect"] = "info" }
      takeLimit = 100,
      codeLens = { enable = true },
    },
  },
})

-- Code lenses (the estimated reads above each Convex function, e.g. "~1 + N reads
-- (N = items of 'members')"): Neovim shows them only after vim.lsp.codelens.refresh(),
-- so refresh when the server attaches and when the text settles. An autocmd on
-- LspAttach (not `on_attach`) so a user's own on_attach does not turn the lenses off.
vim.api.nvim_create_autocmd("LspAttach", {
  group = vim.api.nvim_create_augroup("convex_xray_codelens", { clear = true }),
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if not client or client.name ~= "convex_xray" or not client:supports_method("textDocument/codeLens") then
      return
    end
    local bufnr = args.buf
    vim.lsp.codelens.refresh({ bufnr = bufnr })
    vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
      group = vim.api.nvim_create_augroup("convex_xray_codelens_" .. bufnr, { clear = true }),
      buffer = bufnr,
      callback = function()
        vim.lsp.codelens.refresh({ bufnr = bufnr })
      end,
    })
  end,
})

--- Apply every convex-xray fix in the buffer (safe ones, plus unsafe ones when
--- settings.convexXray.unsafeFixes is true) through the server's command.
local function fix_all(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local clients = vim.lsp.get_clients({ bufnr = bufnr, name = "convex_xray" })
  if #clients == 0 then
    vim.notify("convex-xray is not attached to this buffer", vim.log.levels.WARN)
    return
  end
  local uri = vim.uri_from_bufnr(bufnr)
  clients[1]:exec_cmd({
    title = "Fix all convex-xray problems",
    command = "convex-xray.applyAllFixes",
    arguments = { uri },
  }, { bufnr = bufnr })
end

vim.api.nvim_create_user_command("ConvexXrayFixAll", function()
  fix_all(0)
end, { desc = "convex-xray: apply all fixes in this buffer" })

return { fix_all = fix_all }
