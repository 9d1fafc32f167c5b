// An MCP client from the TypeScript SDK, for the tests of the node's MCP
// server: node mcp-client.mjs http URL PLAN_JSON
//          node mcp-client.mjs stdio PLAN_JSON COMMAND [ARG...]
// PLAN_JSON says what to ask: {"search": ARGS, "dataset": ID,
// "techniques": ARGS, "resource": URI, "prompt": {"name": N, "arguments": {...}}}
// (each optional). It lists the tools, resources, resource templates and
// prompts, calls search_datasets with ARGS, get_dataset with ID and
// list_techniques with ARGS, reads the resource URI and gets the prompt,
// and prints what it got as one JSON object on stdout.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [mode, target, ...rest] = process.argv.slice(2);
let transport, plan;
if (mode === "http") {
  transport = new StreamableHTTPClientTransport(new URL(target));
  plan = JSON.parse(rest[0] ?? "{}");
} else if (mode === "stdio") {
  plan = JSON.parse(target ?? "{}");
  transport = new StdioClientTransport({ command: rest[0], args: rest.slice(1), stderr: "inherit" });
} else {
  console.error("usage: mcp-client.mjs http URL PLAN_JSON | stdio PLAN_JSON COMMAND [ARG...]");
  process.exit(2);
}
const client = new Client({ name: "fairway-test", version: "1.0.0" });
try {
  await client.connect(transport);
  const out = {};
  out.tools = (await client.listTools()).tools.map((t) => ({
    name: t.name,
    readOnly: t.annotations?.readOnlyHint === true,
    hasOutputSchema: t.outputSchema !== undefined,
  }));
  out.resources = (await client.listResources()).resources.map((r) => ({ uri: r.uri, mimeType: r.mimeType }));
  out.resourceTemplates = (await client.listResourceTemplates()).resourceTemplates.map((r) => ({
    uriTemplate: r.uriTemplate,
    mimeType: r.mimeType,
  }));
  out.prompts = (await client.listPrompts()).prompts.map((p) => ({
    name: p.name,
    arguments: (p.arguments ?? []).map((a) => a.name),
  }));
  if (plan.search !== undefined) {
    out.search = await client.callTool({ name: "search_datasets", arguments: plan.search });
  }
  if (plan.dataset !== undefined) {
    out.getDataset = await client.callTool({ name: "get_dataset", arguments: { id: plan.dataset } });
  }
  if (plan.techniques !== undefined) {
    out.listTechniques = await client.callTool({ name: "list_techniques", arguments: plan.techniques });
  }
  if (plan.resource !== undefined) {
    out.resource = await client.readResource({ uri: plan.resource });
  }
  if (plan.prompt !== undefined) {
    out.prompt = await client.getPrompt(plan.prompt);
  }
  process.stdout.write(JSON.stringify(out) + "\n");
  await client.close();
} catch (e) {
  console.error(String(e?.stack ?? e));
  process.exit(1);
}
