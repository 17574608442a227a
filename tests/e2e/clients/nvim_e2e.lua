-- Driven by tests/clients/test_neovim.py: load only editors/neovim/convex_xray.lua, open a
-- file of the example app, wait for diagnostics, apply a quick fix and the fix-all command,
-- and write what happened to a JSON report.
local repo, python, file, report = unpack(_G.E2E_ARGS)
local result = { diagnostics = {}, steps = {} }

local function finish(ok, err)
  result.ok = ok
  result.error = err
  local handle = assert(io.open(report, "w"))
  handle:write(vim.json.encode(result))
  handle:close()
  vim.cmd("qa!")
end

local function step(name) table.insert(result.steps, name) end

local ok, err = pcall(function()
  dofile(repo .. "/editors/neovim/convex_xray.lua")
  -- Use the interpreter under test instead of `convex-xray` on PATH.
  vim.lsp.config("convex_xray", { cmd = { python, "-m", "convex_xray", "lsp" } })
  vim.lsp.enable("convex_xray")
  vim.cmd.edit(file)
  local bufnr = vim.api.nvim_get_current_buf()
  step("opened " .. vim.bo[bufnr].filetype)

  local attached = vim.wait(30000, function()
    return #vim.lsp.get_clients({ bufnr = bufnr, name = "convex_xray" }) > 0
  end, 50)
  assert(attached, "convex_xray did not attach")
  local client = vim.lsp.get_clients({ bufnr = bufnr, name = "convex_xray" })[1]
  step("attached")

  local function ours()
    return vim.tbl_filter(function(d) return d.source == "convex-xray" end, vim.diagnostic.get(bufnr))
  end
  assert(vim.wait(30000, function() return #ours() > 0 end, 50), "no diagnostics")
  for _, d in ipairs(ours()) do
    table.insert(result.diagnostics, { code = d.code, lnum = d.lnum, col = d.col, message = d.message })
  end
  step("diagnostics")

  -- A code lens shows: the config refreshes lenses on attach by itself (no refresh here),
  -- and Neovim draws them as virtual text; find that text among the buffer's extmarks.
  local function lens_texts()
    local texts = {}
    for _, ns in pairs(vim.api.nvim_get_namespaces()) do
      for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })) do
        local details = mark[4] or {}
        for _, chunk in ipairs(details.virt_text or {}) do
          if type(chunk[1]) == "string" and chunk[1]:find("read") then
            table.insert(texts, chunk[1])
          end
        end
      end
    end
    return texts
  end
  assert(vim.wait(30000, function() return #lens_texts() > 0 end, 100), "no code lens shown")
  result.lenses = lens_texts()
  step("lens")

  -- Quick fix: ask for code actions on each N+1 read until a preferred batch-fetch shows up.
  local before = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
  local applied = nil
  for _, d in ipairs(ours()) do
    if d.code == "n-plus-one-read" and not applied then
      local lsp_diag = d.user_data and d.user_data.lsp or nil
      local params = {
        textDocument = { uri = vim.uri_from_bufnr(bufnr) },
        range = {
          start = { line = d.lnum, character = d.col },
          ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col },
        },
        context = { diagnostics = { lsp_diag }, only = { "quickfix" } },
      }
      local response = client:request_sync("textDocument/codeAction", params, 15000, bufnr)
      for _, action in ipairs((response and response.result) or {}) do
        if action.isPreferred and action.title:find("Batch%-fetch") then
          if not action.edit then
            local resolved = client:request_sync("codeAction/resolve", action, 15000, bufnr)
            action = resolved and resolved.result or action
          end
          assert(action.edit, "the batch-fetch action has no edit")
          vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
          applied = action.title
          break
        end
      end
    end
  end
  assert(applied, "no preferred batch-fetch quick fix offered")
  result.quickfix = applied
  local after = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
  assert(after ~= before, "the quick fix did not change the buffer")
  result.quickfix_changed = true
  step("quickfix")

  -- Fix all through the server command; the server answers with workspace/applyEdit.
  local count_before = #ours()
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  vim.cmd("ConvexXrayFixAll")
  local changed = vim.wait(20000, function() return vim.api.nvim_buf_get_changedtick(bufnr) ~= tick end, 50)
  result.fixall_changed = changed
  vim.wait(20000, function() return #ours() < count_before end, 50)
  result.count_before_fixall = count_before
  result.count_after_fixall = #ours()
  result.text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
  step("fixall")
end)

finish(ok, not ok and tostring(err) or nil)
