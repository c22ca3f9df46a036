// Validates every manifest in deploy/kubernetes and deploy/examples against the Kubernetes API schemas, offline:
// kubernetes-models bundles them as ajv validators (types, enums, required fields, formats) and as TypeScript types,
// whose excess-property check refuses a field the API does not have (a typo such as `secuirtyContext`, which the
// API server would silently drop). Prints one line per problem; exits non-zero on any.
import { readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import yaml from "js-yaml";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const folders = process.argv.length > 2 ? process.argv.slice(2) : ["deploy/kubernetes", "deploy/examples"];

const problems = [];
const typed = [];
let count = 0;
for (const folder of folders) {
  for (const file of readdirSync(join(root, folder)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const documents = yaml.loadAll(readFileSync(join(root, folder, file), "utf8")).filter((d) => d);
    for (const [i, doc] of documents.entries()) {
      const where = `${folder}/${file}#${i + 1} ${doc.kind ?? "?"}/${doc.metadata?.name ?? "?"}`;
      const modulePath = `kubernetes-models/${doc.apiVersion}/${doc.kind}`;
      let model;
      try {
        model = (await import(modulePath))[doc.kind];
      } catch {
        problems.push(`${where}: no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`);
        continue;
      }
      try {
        new model(doc).validate();
      } catch (e) {
        problems.push(`${where}: ${e.message.replaceAll("\n", "; ")}`);
      }
      typed.push({ where, modulePath, kind: doc.kind, doc });
      count++;
    }
  }
}

// The same documents as TypeScript object literals, compiled: an unknown field anywhere is an error there.
const source = join(here, "manifests.generated.ts");
writeFileSync(source, typed.map((t, i) =>
  `// ${t.where}\nimport type { I${t.kind} as T${i} } from "${t.modulePath}";\nexport const m${i}: T${i} = ${JSON.stringify(t.doc, null, 2)};\n`).join("\n"));
try {
  execFileSync(join(here, "node_modules", ".bin", "tsc"),
    ["--noEmit", "--strict", "--skipLibCheck", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", source],
    { cwd: here, encoding: "utf8" });
} catch (e) {
  problems.push(...(e.stdout || e.message).trim().split("\n").filter((l) => l.includes("error")).map((l) => `type check: ${l}`));
} finally {
  rmSync(source, { force: true });
}

for (const p of problems) console.log(`FAIL ${p}`);
if (problems.length === 0) console.log(`ok ${count} Kubernetes objects in ${folders.join(", ")} match the API schemas`);
process.exit(problems.length === 0 ? 0 : 1);
