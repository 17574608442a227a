-- convex-xray for Neovim 0.11+ (built-in LSP client, no plugins needed).
--
-- Install:  pip install convex-xray   (or pipx install convex-xray)
-- Use: put this file on your runtimepath (e.g. ~/.config/nvim/plugin/convex_xray.lua)
--      or `dofile` it from init.lua, then:
--        vim.lsp.enable("convex_xray")
-- Override anything with a later vim.lsp.config("convex_xray", { ... }) call; tables merge.

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
