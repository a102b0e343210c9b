// Judges the site server's OpenAPI document and live answers with real tools: @apidevtools/swagger-parser validates the
// document (OpenAPI 3.1 structure, every $ref resolved), and ajv (JSON Schema 2020-12) checks each recorded answer's
// body against the schema the document gives for its path, method, status and media type. An NDJSON answer is checked
// line by line. Prints one JSON line {operations, checked, failures}; exits 1 when anything fails.
// Usage: node check.mjs <openapi.json> <exchanges.json>, where exchanges are [{method, path, status, contentType, body}]
// with path the document's template (e.g. /models/{fileName}).
import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [documentPath, exchangesPath] = process.argv.slice(2);
const failures = [];
let api;
try {
  api = await SwaggerParser.validate(documentPath);
} catch (error) {
  process.stdout.write(JSON.stringify({ operations: 0, checked: 0, failures: [`the document is not valid OpenAPI: ${error.message}`] }) + '\n');
  process.exit(1);
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const operations = Object.entries(api.paths).flatMap(([path, item]) => Object.keys(item).filter(k => k !== 'parameters').map(method => `${method.toUpperCase()} ${path}`));
const exchanges = JSON.parse(readFileSync(exchangesPath, 'utf8'));
let checked = 0;
for (const exchange of exchanges) {
  const where = `${exchange.method} ${exchange.path} -> ${exchange.status}`;
  // A method the path does not take is answered 405, which each of the path's operations declares.
  const item = api.paths[exchange.path] ?? {};
  const operation = item[exchange.method.toLowerCase()] ?? (exchange.status === 405 ? Object.values(item).find(o => o.responses?.['405']) : undefined);
  if (!operation) { failures.push(`${where}: no such operation in the document`); continue; }
  const response = operation.responses[String(exchange.status)] ?? operation.responses.default;
  if (!response) { failures.push(`${where}: the document declares no such status`); continue; }
  const mediaType = (exchange.contentType ?? '').split(';')[0].trim();
  if (!response.content) {
    if (exchange.body) failures.push(`${where}: a body where the document declares none`);
    checked++;
    continue;
  }
  const media = response.content[mediaType];
  if (!media) { failures.push(`${where}: media type '${mediaType}' not declared (${Object.keys(response.content).join(', ')})`); continue; }
  if (mediaType !== 'application/json' && mediaType !== 'application/x-ndjson') { checked++; continue; } // bytes and text: declared is all
  const validate = ajv.compile(media.schema);
  const values = mediaType === 'application/x-ndjson'
    ? exchange.body.split('\n').filter(line => line.length > 0).map(line => JSON.parse(line))
    : [JSON.parse(exchange.body)];
  for (const value of values) {
    if (!validate(value)) failures.push(`${where}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(value).slice(0, 300)}`);
  }
  checked++;
}

process.stdout.write(JSON.stringify({ operations, checked, failures }) + '\n');
process.exit(failures.length === 0 ? 0 : 1);
