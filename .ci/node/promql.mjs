// Parses every PromQL expression of deploy/prometheus (alert rules) and deploy/grafana (dashboard targets) with
// Prometheus' own grammar (@prometheus-io/lezer-promql), and checks the rule files' shape: a query that does not parse
// is an empty panel or an alert that never fires, and Prometheus refuses a whole rule file for one bad expression.
import { readFileSync, readdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { parser } from "@prometheus-io/lezer-promql";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const problems = [];
let count = 0;

function check(where, expr) {
  count++;
  // Grafana's interval variables are not PromQL; Prometheus sees a duration in their place.
  const promql = expr.replaceAll(/\$__(rate_interval|interval|range)/g, "5m");
  const errors = [];
  parser.parse(promql).iterate({ enter: (node) => { if (node.type.isError) errors.push(node.from); } });
  if (errors.length > 0) problems.push(`${where}: PromQL does not parse at offset ${errors[0]}: ${expr}`);
}

for (const file of readdirSync(join(root, "deploy", "prometheus")).filter((f) => /\.ya?ml$/.test(f))) {
  const rules = yaml.load(readFileSync(join(root, "deploy", "prometheus", file), "utf8"));
  for (const group of rules.groups ?? []) {
    if (!group.name) problems.push(`${file}: a group without a name`);
    for (const rule of group.rules ?? []) {
      const where = `${file} ${rule.alert ?? rule.record ?? "?"}`;
      if (!rule.alert === !rule.record) problems.push(`${where}: a rule is either an alert or a record`);
      if (rule.for !== undefined && !/^(\d+(ms|s|m|h|d|w|y))+$/.test(String(rule.for))) problems.push(`${where}: for ${rule.for} is not a duration`);
      if (rule.alert && !rule.annotations?.summary) problems.push(`${where}: an alert without a summary`);
      check(where, String(rule.expr ?? ""));
    }
  }
}

for (const file of readdirSync(join(root, "deploy", "grafana")).filter((f) => f.endsWith(".json"))) {
  const dashboard = JSON.parse(readFileSync(join(root, "deploy", "grafana", file), "utf8"));
  for (const panel of dashboard.panels ?? [])
    for (const target of panel.targets ?? []) check(`${file} "${panel.title}" ${target.refId}`, String(target.expr ?? ""));
}

for (const p of problems) console.log(`FAIL ${p}`);
if (problems.length === 0) console.log(`ok ${count} PromQL expressions in deploy/prometheus and deploy/grafana parse`);
process.exit(problems.length === 0 ? 0 : 1);
