// An MCP client from the TypeScript SDK, for the tests of the node's MCP
// server: node mcp-client.mjs http URL ARGS_JSON
//          node mcp-client.mjs stdio ARGS_JSON COMMAND [ARG...]
// It lists the tools and calls search_datasets with ARGS_JSON, and prints
// {"tools": [...], "search": <the tool's result>} as JSON on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [mode, target, ...rest] = process.argv.slice(2);
let transport, args;
if (mode === "http") {
  transport = new StreamableHTTPClientTransport(new URL(target));
  args = JSON.parse(rest[0] ?? "{}");
} else if (mode === "stdio") {
  args = JSON.parse(target ?? "{}");
  transport = new StdioClientTransport({ command: rest[0], args: rest.slice(1), stderr: "inherit" });
} else {
  console.error("usage: mcp-client.mjs http URL ARGS_JSON | stdio ARGS_JSON COMMAND [ARG...]");
  process.exit(2);
}
const client = new Client({ name: "fairway-test", version: "1.0.0" });
try {
  await client.connect(transport);
  const tools = (await client.listTools()).tools.map((t) => ({
    name: t.name,
    readOnly: t.annotations?.readOnlyHint === true,
    hasOutputSchema: t.outputSchema !== undefined,
  }));
  const search = await client.callTool({ name: "search_datasets", arguments: args });
  process.stdout.write(JSON.stringify({ tools, search }) + "\n");
  await client.close();
} catch (e) {
  console.error(String(e?.stack ?? e));
  process.exit(1);
}
