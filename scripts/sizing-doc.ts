/** npm run docs:sizing — rewrite the generated tables of docs/sizing.md from the code. */
import * as fs from "node:fs";
import * as path from "node:path";
import { replaceGenerated, sizingDocSection } from "../lib/docs/sizing";

const file = path.resolve(__dirname, "..", "docs", "sizing.md");
fs.writeFileSync(file, replaceGenerated(fs.readFileSync(file, "utf8"), sizingDocSection()));
console.log(`updated ${file}`);
