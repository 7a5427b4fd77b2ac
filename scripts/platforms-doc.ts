/** npm run docs:platforms — rewrite the generated tables of docs/platforms.md from the code. */
import * as fs from "node:fs";
import * as path from "node:path";
import { platformsDocSection } from "../lib/docs/platforms";
import { replaceGenerated } from "../lib/docs/sizing";

const file = path.resolve(__dirname, "..", "docs", "platforms.md");
fs.writeFileSync(file, replaceGenerated(fs.readFileSync(file, "utf8"), platformsDocSection()));
console.log(`updated ${file}`);
