/** The VS Code shell: finds the convex-xray server, starts it, and wires settings, commands and status. */

import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { Coalescer } from './coalesce';
import {
  type CandidateSource,
  describeCandidate,
  discoverServer,
  type FoundServer,
  interpreterFromPythonEnvironment,
} from './discovery';
import { execProbe } from './probe';
import { reportCommand, runReport } from './report';
import { LIST_RULES_REQUEST, mergeRules, parseRuleList, type RuleDoc } from './rules';
import {
  RESTART_KEYS,
  resolveVariables,
  SECTION,
  sectionValue,
  type ServerSettings,
  toClientSettings,
  toServerSettings,
} from './settings';
import { type Counts, parseStatusNotification, renderStatus, type ServerState, STATUS_NOTIFICATION } from './status';

const SEVERITY_NAMES: Record<vscode.DiagnosticSeverity, keyof Counts> = {
  [vscode.DiagnosticSeverity.Error]: 'error',
  [vscode.DiagnosticSeverity.Warning]: 'warning',
  [vscode.DiagnosticSeverity.Information]: 'info',
  [vscode.DiagnosticSeverity.Hint]: 'hint',
};

const CLIENT_ID = 'convexXray'; // also makes vscode-languageclient honour `convexXray.trace.server`
const CLIENT_NAME = 'convex-xray';
const DIAGNOSTIC_SOURCE = 'convex-xray';
const LANGUAGES = ['typescript', 'typescriptreact', 'javascript', 'javascriptreact'] as const;
const RESTART_DEBOUNCE_MS = 500;

/** Server-side commands (docs/lsp-contract.md); the client's own ids differ so they never clash. */
const SERVER_APPLY_ALL_FIXES = 'convex-xray.applyAllFixes';
const SERVER_SHOW_RULE_DOCUMENTATION = 'convex-xray.showRuleDocumentation';

let controller: Controller | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel(CLIENT_NAME, { log: true });
  controller = new Controller(log);
  context.subscriptions.push(log, controller);
  controller.register(context);
  log.info(`convex-xray extension ${String(context.extension.packageJSON?.version ?? '?')} activated`);
  // Not awaited: activation must not wait on interpreter probing; the status item shows progress.
  void controller.restartNow();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
  controller = undefined;
}

class Controller implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private server: FoundServer | undefined;
  private state: ServerState = { kind: 'starting' };
  private readonly statusItem: vscode.StatusBarItem;
  private readonly restarter: Coalescer;
  private readonly disposables: vscode.Disposable[] = [];
  private pythonListener: vscode.Disposable | undefined;
  private readonly reportedProblems = new Set<string>();

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.statusItem = vscode.window.createStatusBarItem('convex-xray.status', vscode.StatusBarAlignment.Left, 0);
    this.statusItem.name = 'convex-xray';
    this.statusItem.command = 'convex-xray.showOutput';
    this.restarter = new Coalescer(() => this.restart(), RESTART_DEBOUNCE_MS);
    this.render();
    this.statusItem.show();
  }

  register(context: vscode.ExtensionContext): void {
    context.subscriptions.push(
      vscode.commands.registerCommand('convex-xray.restart', () => this.restartNow()),
      vscode.commands.registerCommand('convex-xray.showOutput', () => this.log.show()),
      vscode.commands.registerCommand('convex-xray.fixAll', () => this.fixAll()),
      vscode.commands.registerCommand('convex-xray.showRuleDocs', (slug?: unknown) => this.showRuleDocs(slug)),
      vscode.commands.registerCommand('convex-xray.openReport', () => this.openReport()),
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      // The count follows what the editor holds: it changes after a fix or an edit.
      vscode.languages.onDidChangeDiagnostics(() => {
        if (this.state.kind === 'ready') {
          this.render();
        }
      }),
    );
  }

  /** Runs `convex-xray report --format html` with the server already found (same executable
   * or interpreter, same config file) and shows the page in a webview without scripts. */
  private async openReport(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showErrorMessage('convex-xray: open the folder of a Convex app to build its performance report.');
      return;
    }
    if (!this.server) {
      void vscode.window.showErrorMessage('convex-xray: the server was not found, so the report cannot run (see the output).');
      return;
    }
    const configFile = this.settingsFor(folder.uri).configFile;
    const { command, args } = reportCommand(this.server.candidate, configFile);
    this.log.info(`report: ${[command, ...args].join(' ')}`);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'convex-xray: building the performance report…' },
      () => runReport(command, args, folder.uri.fsPath),
    );
    if (!result.ok) {
      this.log.error(result.error);
      void vscode.window.showErrorMessage(result.error);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      'convex-xray.report',
      'Convex X-Ray performance report',
      vscode.ViewColumn.Active,
      { enableScripts: false, enableFindWidget: true },
    );
    panel.webview.html = result.html;
  }

  restartNow(): Promise<void> {
    return this.restarter.now();
  }

  dispose(): void {
    this.restarter.dispose();
    this.pythonListener?.dispose();
    this.disposables.forEach((d) => d.dispose());
    this.statusItem.dispose();
    void this.stop();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.dispose(2000);
      } catch (error) {
        this.log.warn(`stopping the server: ${describeError(error)}`);
      }
    }
  }

  private async restart(): Promise<void> {
    await this.stop();
    try {
      await this.start();
    } catch (error) {
      this.log.error(`starting the server: ${describeError(error)}`);
      this.setState({ kind: 'stopped', message: describeError(error) });
    }
  }

  private async start(): Promise<void> {
    this.setState({ kind: 'starting' });
    this.server = undefined;
    const folder = vscode.workspace.workspaceFolders?.[0];
    const config = vscode.workspace.getConfiguration(SECTION, folder?.uri);
    const clientSettings = toClientSettings((key) => config.get(key), this.resolver(folder));
    this.reportProblems(clientSettings.problems);

    const result = await discoverServer(
      {
        path: clientSettings.value.path,
        interpreter: clientSettings.value.interpreter,
        pythonExtension: () => this.pythonExtensionInterpreter(folder?.uri),
      },
      execProbe({ cwd: folder?.uri.fsPath }),
    );
    for (const attempt of result.attempts) {
      const line = `${describeCandidate(attempt.candidate)}: ${attempt.detail}`;
      if (attempt.ok) {
        this.log.info(`found ${line}`);
      } else {
        this.log.info(`tried ${line}`);
      }
    }
    if (!result.ok) {
      this.log.error(result.error.message);
      this.setState({ kind: 'notFound' });
      void vscode.window.showErrorMessage(result.error.message, 'Open Settings').then((choice) => {
        if (choice === 'Open Settings') {
          void vscode.commands.executeCommand('workbench.action.openSettings', SECTION);
        }
      });
      return;
    }
    for (const warning of result.warnings) {
      this.log.warn(warning);
    }
    if (result.warnings.length > 0) {
      void vscode.window.showWarningMessage(result.warnings.join(' '));
    }

    this.server = result.server;
    const { candidate } = result.server;
    const executable = {
      command: candidate.command,
      args: candidate.lspArgs,
      transport: TransportKind.stdio,
      options: { cwd: folder?.uri.fsPath },
    };
    const serverOptions: ServerOptions = { run: executable, debug: executable };
    const clientOptions: LanguageClientOptions = {
      documentSelector: LANGUAGES.flatMap((language) => [
        { scheme: 'file', language },
        { scheme: 'untitled', language },
      ]),
      outputChannel: this.log,
      traceOutputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: this.settingsFor(folder?.uri),
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const ours = (section: string | undefined): section is string =>
              section === SECTION || (section?.startsWith(`${SECTION}.`) ?? false);
            const others = params.items.some((item) => !ours(item.section))
              ? await next(params, token)
              : undefined;
            if (others instanceof ResponseError) {
              return others;
            }
            return params.items.map((item, index) =>
              ours(item.section)
                ? sectionValue(this.settingsFor(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined), item.section)
                : (others?.[index] ?? null),
            );
          },
        },
      },
    };

    const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
    this.client = client;
    client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      const state = parseStatusNotification(params);
      if (state && this.client === client) {
        this.setState(state);
      }
    });
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Stopped) {
        this.setState({ kind: 'stopped' });
      }
    });
    this.log.info(`starting ${describeCandidate(candidate)}`);
    await client.start();
    const info = client.initializeResult?.serverInfo;
    this.log.info(`server running: ${info ? `${info.name} ${info.version ?? ''}`.trim() : 'no serverInfo'}`);
    if (this.client === client && this.state.kind === 'starting' && info?.name !== 'convex-xray') {
      // Servers that never send `convexXray/status` are ready once initialized; convex-xray's own
      // says when indexing starts and ends (showing "ready" before that would show 0 problems).
      this.setState({ kind: 'ready' });
    }
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
      this.log.info('convexXray.path or convexXray.interpreter changed: restarting the server');
      void this.restarter.trigger();
      return;
    }
    const client = this.client;
    if (client?.isRunning()) {
      // The server re-pulls through workspace/configuration; the payload is there for servers that read it.
      void client
        .sendNotification(DidChangeConfigurationNotification.type, {
          settings: { [SECTION]: this.settingsFor(vscode.workspace.workspaceFolders?.[0]?.uri) },
        })
        .catch((error: unknown) => this.log.warn(`didChangeConfiguration: ${describeError(error)}`));
    }
  }

  private settingsFor(scope: vscode.Uri | undefined): ServerSettings {
    const config = vscode.workspace.getConfiguration(SECTION, scope);
    const folder = scope ? vscode.workspace.getWorkspaceFolder(scope) : vscode.workspace.workspaceFolders?.[0];
    const mapped = toServerSettings((key) => config.get(key), this.resolver(folder));
    this.reportProblems(mapped.problems);
    return mapped.value;
  }

  private resolver(folder: vscode.WorkspaceFolder | undefined): (value: string) => string {
    return (value) =>
      resolveVariables(value, { workspaceFolder: folder?.uri.fsPath, userHome: os.homedir(), env: process.env });
  }

  /** A bad setting is logged and shown once; the default is used and the server keeps running. */
  private reportProblems(problems: readonly string[]): void {
    const fresh = problems.filter((problem) => !this.reportedProblems.has(problem));
    if (fresh.length === 0) {
      return;
    }
    fresh.forEach((problem) => {
      this.reportedProblems.add(problem);
      this.log.warn(problem);
    });
    void vscode.window.showWarningMessage(`convex-xray settings: ${fresh.join('; ')}`);
  }

  /** The Python extension's selected interpreter; every step is optional and failures only log. */
  private async pythonExtensionInterpreter(resource: vscode.Uri | undefined): Promise<string[] | undefined> {
    const extension = vscode.extensions.getExtension('ms-python.python');
    if (!extension) {
      this.log.info('ms-python.python is not installed; skipping its interpreter');
      return undefined;
    }
    try {
      const api: unknown = extension.isActive ? extension.exports : await withTimeout(extension.activate(), 15_000);
      const environments = (api as { environments?: PythonEnvironments } | undefined)?.environments;
      if (typeof environments?.getActiveEnvironmentPath !== 'function') {
        this.log.info('the Python extension has no environments API; skipping its interpreter');
        return undefined;
      }
      this.watchPythonEnvironment(environments);
      const activePath = environments.getActiveEnvironmentPath(resource);
      const resolved =
        typeof environments.resolveEnvironment === 'function'
          ? await withTimeout(Promise.resolve(environments.resolveEnvironment(activePath)), 15_000)
          : undefined;
      const lookup = interpreterFromPythonEnvironment(resolved, activePath);
      if (!lookup.ok) {
        this.log.info(`Python extension: ${lookup.reason}`);
        return undefined;
      }
      return lookup.interpreter;
    } catch (error) {
      this.log.warn(`asking the Python extension for an interpreter: ${describeError(error)}`);
      return undefined;
    }
  }

  private watchPythonEnvironment(environments: PythonEnvironments): void {
    if (this.pythonListener || typeof environments.onDidChangeActiveEnvironmentPath !== 'function') {
      return;
    }
    this.pythonListener = environments.onDidChangeActiveEnvironmentPath(() => {
      const explicit: CandidateSource[] = ['convexXray.path', 'convexXray.interpreter'];
      if (!this.server || !explicit.includes(this.server.candidate.source)) {
        this.log.info('the Python interpreter changed: restarting the server');
        void this.restarter.trigger();
      }
    });
  }

  private runningClient(): LanguageClient | undefined {
    if (this.client?.isRunning()) {
      return this.client;
    }
    void vscode.window.showWarningMessage('convex-xray: the server is not running.', 'Show Output').then((choice) => {
      if (choice === 'Show Output') {
        this.log.show();
      }
    });
    return undefined;
  }

  private async fixAll(): Promise<void> {
    const document = vscode.window.activeTextEditor?.document;
    if (!document || !(LANGUAGES as readonly string[]).includes(document.languageId)) {
      void vscode.window.showInformationMessage('convex-xray: open a TypeScript or JavaScript file to fix.');
      return;
    }
    const client = this.runningClient();
    if (!client) {
      return;
    }
    try {
      await client.sendRequest(ExecuteCommandRequest.type, {
        command: SERVER_APPLY_ALL_FIXES,
        arguments: [client.code2ProtocolConverter.asUri(document.uri)],
      });
    } catch (error) {
      this.log.error(`${SERVER_APPLY_ALL_FIXES}: ${describeError(error)}`);
      void vscode.window.showErrorMessage(`convex-xray: fixing failed: ${describeError(error)}`);
    }
  }

  private async showRuleDocs(slug: unknown): Promise<void> {
    if (typeof slug === 'string' && slug.trim() !== '') {
      const known = (await this.knownRules()).find((rule) => rule.slug === slug || rule.code === slug);
      return this.openRuleDocs(known ?? { slug });
    }
    const rules = await this.knownRules();
    if (rules.length === 0) {
      void vscode.window.showInformationMessage(
        'convex-xray: no rules to show yet (the server is not running, or has reported none).',
      );
      return;
    }
    const picked = await vscode.window.showQuickPick(
      rules.map((rule) => ({
        label: rule.slug,
        description: [rule.code, rule.name].filter(Boolean).join(' '),
        detail: rule.summary,
        rule,
      })),
      { placeHolder: 'Show the documentation of a convex-xray rule', matchOnDescription: true, matchOnDetail: true },
    );
    if (picked) {
      await this.openRuleDocs(picked.rule);
    }
  }

  /** Rules from the server's optional `convexXray/listRules`, plus every rule seen in diagnostics. */
  private async knownRules(): Promise<RuleDoc[]> {
    let fromServer: RuleDoc[] = [];
    if (this.client?.isRunning()) {
      try {
        fromServer = parseRuleList(await this.client.sendRequest(LIST_RULES_REQUEST, {}));
      } catch (error) {
        this.log.debug(`${LIST_RULES_REQUEST}: ${describeError(error)}`);
      }
    }
    const fromDiagnostics: RuleDoc[] = [];
    for (const [, diagnostics] of vscode.languages.getDiagnostics()) {
      for (const diagnostic of diagnostics) {
        if (diagnostic.source !== DIAGNOSTIC_SOURCE || diagnostic.code === undefined) {
          continue;
        }
        const code = diagnostic.code;
        if (typeof code === 'object') {
          fromDiagnostics.push({ slug: String(code.value), url: code.target.toString(true) });
        } else {
          fromDiagnostics.push({ slug: String(code) });
        }
      }
    }
    return mergeRules(fromServer, fromDiagnostics);
  }

  private async openRuleDocs(rule: RuleDoc): Promise<void> {
    if (rule.url) {
      await vscode.env.openExternal(vscode.Uri.parse(rule.url));
      return;
    }
    // The server knows every rule's URL and answers with window/showDocument.
    const client = this.runningClient();
    if (!client) {
      return;
    }
    try {
      await client.sendRequest(ExecuteCommandRequest.type, {
        command: SERVER_SHOW_RULE_DOCUMENTATION,
        arguments: [rule.slug],
      });
    } catch (error) {
      this.log.error(`${SERVER_SHOW_RULE_DOCUMENTATION}: ${describeError(error)}`);
    }
  }

  private setState(state: ServerState): void {
    this.state = state;
    this.render();
  }

  private render(): void {
    // Every convex-xray diagnostic the editor holds (pushed or pulled), per severity.
    const published: Counts = { error: 0, warning: 0, info: 0, hint: 0 };
    if (this.state.kind === 'ready') {
      for (const [, diagnostics] of vscode.languages.getDiagnostics()) {
        for (const diagnostic of diagnostics) {
          if (diagnostic.source !== 'convex-xray') {
            continue;
          }
          const tier = SEVERITY_NAMES[diagnostic.severity];
          published[tier] += 1;
        }
      }
    }
    const view = renderStatus(
      this.state,
      this.server
        ? {
            version: this.server.version,
            command: [this.server.candidate.command, ...this.server.candidate.lspArgs].join(' '),
            source: this.server.candidate.source,
          }
        : {},
      published,
    );
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.backgroundColor =
      view.level === 'normal'
        ? undefined
        : new vscode.ThemeColor(view.level === 'error' ? 'statusBarItem.errorBackground' : 'statusBarItem.warningBackground');
  }
}

/** The part of the Python extension's `environments` API this client uses; all optional. */
interface PythonEnvironments {
  getActiveEnvironmentPath?: (resource?: vscode.Uri) => unknown;
  resolveEnvironment?: (environment: unknown) => unknown;
  onDidChangeActiveEnvironmentPath?: (listener: () => void) => vscode.Disposable;
}

function withTimeout<T>(promise: Thenable<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000}s`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
