#!/usr/bin/env node
// shacl.mjs validates one RDF data file against SHACL shapes files with
// rdf-validate-shacl.
//
//   node tools/node/shacl.mjs SHAPES.ttl [SHAPES2.ttl …] DATA.(ttl|nt)
//
// Every argument but the last is a shapes file; the last is the data file.
// Files are parsed by their extension (.ttl Turtle, .nt N-Triples, .rdf
// RDF/XML, .jsonld JSON-LD). Each result is printed as one line:
//
//   violation|warning|info <focus node> path=<path> shape=<source shape>: message [value=<value>]
//
// followed by a summary line. Exit status: 0 when there is no result of
// severity sh:Violation (warnings and infos are printed, not counted), 1 when
// there is at least one, 2 on a usage, read or parse error. owl:imports in
// the shapes are not fetched (a note on stderr says which were left out).
import rdf from '@zazuko/env-node'
import SHACLValidator from 'rdf-validate-shacl'

const SH = 'http://www.w3.org/ns/shacl#'

function usage (msg) {
  if (msg) console.error(`shacl.mjs: ${msg}`)
  console.error('usage: node shacl.mjs SHAPES.ttl [SHAPES2.ttl …] DATA.(ttl|nt|rdf|jsonld)')
  process.exit(2)
}

async function load (path) {
  try {
    return await rdf.dataset().import(rdf.fromFile(path))
  } catch (err) {
    console.error(`shacl.mjs: cannot read ${path}: ${err && err.message ? err.message : err}`)
    process.exit(2)
  }
}

function show (term) {
  if (!term) return '-'
  switch (term.termType) {
    case 'NamedNode': return `<${term.value}>`
    case 'BlankNode': return `_:${term.value}`
    case 'Literal': return JSON.stringify(term.value) + (term.language ? `@${term.language}` : (term.datatype && term.datatype.value !== 'http://www.w3.org/2001/XMLSchema#string' ? `^^<${term.datatype.value}>` : ''))
    default: return term.value
  }
}

function severity (term) {
  if (!term) return 'violation'
  if (term.value === SH + 'Warning') return 'warning'
  if (term.value === SH + 'Info') return 'info'
  return 'violation'
}

async function main () {
  const args = process.argv.slice(2)
  if (args.length < 2) usage('need at least one shapes file and a data file')
  const dataPath = args[args.length - 1]
  const shapes = rdf.dataset()
  for (const p of args.slice(0, -1)) {
    for (const q of await load(p)) shapes.add(q)
  }
  if (shapes.size === 0) usage('the shapes files hold no triples')
  const data = await load(dataPath)

  // Nothing is fetched: an owl:imports of the shapes (the deprecated-URI
  // shapes import ADMS's code lists) is reported and left out.
  const importGraph = async (url) => {
    console.error(`shacl.mjs: not loading owl:imports <${url.value || url}>`)
    return rdf.dataset()
  }
  const validator = new SHACLValidator(shapes, { factory: rdf, importGraph })
  let report
  try {
    report = await validator.validate(data)
  } catch (err) {
    console.error(`shacl.mjs: validation failed: ${err && err.stack ? err.stack : err}`)
    process.exit(2)
  }

  const counts = { violation: 0, warning: 0, info: 0 }
  const lines = []
  for (const r of report.results) {
    const sev = severity(r.severity)
    counts[sev]++
    const msg = (r.message || []).map(m => m.value).join('; ') || (r.sourceConstraintComponent ? r.sourceConstraintComponent.value.replace(SH, 'sh:') : 'no message')
    let line = `${sev} ${show(r.focusNode)} path=${show(r.path)} shape=${show(r.sourceShape)}: ${msg}`
    if (r.value) line += ` value=${show(r.value)}`
    lines.push(line)
  }
  lines.sort()
  for (const l of lines) console.log(l)
  console.log(`shacl: ${data.size} triples, ${shapes.size} shape triples: ${counts.violation} violations, ${counts.warning} warnings, ${counts.info} infos`)
  process.exit(counts.violation > 0 ? 1 : 0)
}

main().catch(err => {
  console.error(`shacl.mjs: ${err && err.stack ? err.stack : err}`)
  process.exit(2)
})
