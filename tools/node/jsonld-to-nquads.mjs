// Reads a JSON-LD document on stdin and prints its RDF as N-Quads, with the
// jsonld package. It never fetches a context: the document loader refuses
// every URL, so a document that needs a remote context fails. Safe mode is
// on: a document whose terms or IRIs would be dropped fails too.
import jsonld from 'jsonld';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const documentLoader = async (url) => {
  throw new Error(`refusing to load ${url}: contexts must be inline`);
};

try {
  const nquads = await jsonld.toRDF(doc, {
    format: 'application/n-quads',
    documentLoader,
    safe: true,
  });
  process.stdout.write(nquads);
} catch (err) {
  process.stderr.write(`jsonld-to-nquads: ${err && err.stack ? err.stack : err}\n`);
  if (err && err.details) process.stderr.write(JSON.stringify(err.details, null, 2) + '\n');
  process.exit(1);
}
