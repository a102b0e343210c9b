// Reads Prometheus text exposition from a file and prints the parsed metric families as one line of JSON.
// The parser throws on text that breaks the format, which fails the test.
import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const text = readFileSync(process.argv[2], 'utf8');
process.stdout.write(JSON.stringify(parsePrometheusTextFormat(text)) + '\n');
