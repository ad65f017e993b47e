// The safetyrules extension: starts `safetyrules lsp` (the language server, over standard input and output)
// for every .policy file. Highlighting comes from ../safetyrules.tmLanguage.json (linked in syntaxes/).
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate() {
  const config = vscode.workspace.getConfiguration("safetyrules");
  const serverOptions = {
    command: config.get("server.command", "safetyrules"),
    args: config.get("server.args", ["lsp"]),
    transport: TransportKind.stdio,
  };
  const clientOptions = {
    documentSelector: [{ scheme: "file", language: "safetyrules" }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.policy") },
  };
  client = new LanguageClient("safetyrules", "safetyrules language server", serverOptions, clientOptions);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
