/**
 * Handlebars rendering of the files under templates/<role>/.
 *
 * Templates are plain configuration files with {{placeholders}}; every value they show is computed
 * in TypeScript (lib/plan, ./context.ts) so the templates stay readable for an administrator who
 * knows nginx or PostgreSQL. Strict mode: a placeholder without a value is an error, not an empty
 * string. No HTML escaping: these are configuration files.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Handlebars from "handlebars";

export const TEMPLATE_DIR = path.resolve(__dirname, "..", "..", "templates");

const hbs = Handlebars.create();
hbs.registerHelper("join", (items: unknown, sep: unknown) =>
  Array.isArray(items) ? items.join(typeof sep === "string" ? sep : ", ") : "");
hbs.registerHelper("eq", (a: unknown, b: unknown) => a === b);
hbs.registerHelper("or", (...args: unknown[]) => args.slice(0, -1).some(Boolean));
/** Right-pad a value to a column width, for aligned tables in generated files. */
hbs.registerHelper("pad", (value: unknown, width: unknown) => String(value).padEnd(Number(width)));

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Render templates/<name> (e.g. "nginx/nginx.conf.hbs") with a context. */
export function renderTemplate(name: string, context: object): string {
  let template = cache.get(name);
  if (!template) {
    const file = path.join(TEMPLATE_DIR, name);
    template = hbs.compile(fs.readFileSync(file, "utf8"), { noEscape: true, strict: true });
    cache.set(name, template);
  }
  try {
    return template(context);
  } catch (e) {
    throw new Error(`rendering templates/${name}: ${(e as Error).message}`);
  }
}

/** Templates rendered so far in this process (for the test that every template is in use). */
export function renderedTemplates(): string[] {
  return [...cache.keys()].sort();
}

/** Every template file, relative to templates/ (for tests that check each one is used). */
export function listTemplates(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".hbs")) out.push(path.relative(TEMPLATE_DIR, full));
    }
  };
  walk(TEMPLATE_DIR);
  return out.sort();
}
