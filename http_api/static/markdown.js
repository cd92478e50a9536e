// Markdown for the board, rendered safely. A task's title, description and prompt are
// written by agents and people: nothing in them may become markup, script, an event
// handler, a style or a navigation that the person reading did not see.
//
// The rules:
// - The DOM is built with document.createElement, document.createTextNode and setAttribute
//   only, and only with the elements and attributes of ALLOWED below (element() refuses
//   any other): never innerHTML, outerHTML, insertAdjacentHTML, DOMParser or document.write.
//   Text is always a text node, so raw HTML in the text shows as text.
// - Links go to http:, https: and mailto: only. A destination is unescaped (backslash
//   escapes, character references), then must parse with `new URL` (no base: a relative
//   URL is refused) to one of those protocols and contain no control character; the href
//   set is the URL's own serialisation. Anything else (javascript:, data:, vbscript:, …,
//   however it is cased, spaced or encoded) is no link: its source shows as text. Every
//   link opens in a new tab with rel="noopener noreferrer nofollow".
// - Images are never loaded: ![alt](src) is a link to src (http or https) showing the alt
//   text, or the alt text alone.
// - Linear time on any input: one pass over lines, one over each paragraph's characters,
//   lookups in tables built in one pass, no regular expression that can backtrack over
//   more than a few characters. Nesting is bounded: quotes and lists inside each other
//   stop at MAX_BLOCK_NESTING (deeper markers are text), emphasis inside emphasis at
//   MAX_INLINE_NESTING (deeper delimiters show as they were typed).
//
// What it reads, CommonMark's way unless said: paragraphs (a line break is kept as a line
// break, as in a GitHub comment); ATX headings, one level down from h3 so that they never
// outrank the page's own h1 and h2 (# → h3, ## → h4, ### → h5, #### to ###### → h6);
// **strong**, *emphasis* and _emphasis_; `code`; fenced (``` and ~~~) and indented code
// blocks, byte for byte, the info string's first word kept as class "language-x" when it
// matches [A-Za-z0-9_+-]+; bullet and numbered lists, nested; block quotes; thematic
// breaks; [text](url "title") links, <url> and <address@example.com> autolinks and bare
// http(s) URLs. Not read, so shown as typed: raw HTML, setext headings, tables, reference
// links, strikethrough, lazy continuation lines of a block quote.

const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const IMAGE_PROTOCOLS = new Set(["http:", "https:"]);
export const LINK_REL = "noopener noreferrer nofollow";

// Every element the renderer creates, and the attributes it may set on each.
const ALLOWED = new Map([
  ["p", []], ["br", []], ["h3", []], ["h4", []], ["h5", []], ["h6", []],
  ["strong", []], ["em", []], ["code", ["class"]], ["pre", []],
  ["ul", []], ["ol", ["start"]], ["li", []], ["blockquote", []], ["hr", []],
  ["a", ["href", "title", "rel", "target"]],
]);

const MAX_BLOCK_NESTING = 8;
const MAX_INLINE_NESTING = 16;
const LANGUAGE = /^[A-Za-z0-9_+-]{1,64}$/;

/** The Markdown `text` as a DocumentFragment of allowed elements and text nodes. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  renderBlocks(parseDocument(text), fragment, false);
  return fragment;
}

/** A one-line plain excerpt of the Markdown `text`, markup stripped, at most `max`
 * characters (an ellipsis ends a cut one). Only the beginning of a long text is read:
 * a few times `max`, to the end of a paragraph. */
export function plainText(text, max = 200) {
  if (!(max > 0)) return "";
  const source = String(text ?? "");
  const budget = Math.max(4 * max, 1024);
  let head = source;
  if (source.length > budget) {
    const paragraphEnd = source.slice(0, 2 * budget).indexOf("\n\n", budget);
    head = source.slice(0, paragraphEnd >= 0 ? paragraphEnd : budget);
  }
  const parts = [];
  collectText(parseDocument(head), parts);
  let flat = parts.join(" ").replace(/\s+/g, " ").trim();
  if (flat.length > max || head.length < source.length) {
    let cut = Math.min(flat.length, max - 1);
    if (isHighSurrogate(flat.charCodeAt(cut - 1))) cut -= 1; // never half a surrogate pair
    flat = flat.slice(0, cut).trimEnd() + "…";
  }
  return flat;
}

// --- building the DOM ---------------------------------------------------------------------

function element(tag, attributes = {}) {
  const allowed = ALLOWED.get(tag);
  if (allowed === undefined) throw new Error(`markdown: <${tag}> is not allowed`);
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (!allowed.includes(name)) throw new Error(`markdown: ${name} is not allowed on <${tag}>`);
    node.setAttribute(name, value);
  }
  return node;
}

function renderBlocks(blocks, parent, tight) {
  for (const block of blocks) {
    switch (block.type) {
      case "paragraph":
        if (tight) renderInlines(block.text, parent);
        else parent.append(renderInlines(block.text, element("p")));
        break;
      case "heading":
        parent.append(renderInlines(block.text, element(`h${Math.min(block.level + 2, 6)}`)));
        break;
      case "code": {
        const code = element("code", block.language ? { class: `language-${block.language}` } : {});
        code.append(document.createTextNode(block.text));
        const pre = element("pre");
        pre.append(code);
        parent.append(pre);
        break;
      }
      case "hr":
        parent.append(element("hr"));
        break;
      case "quote": {
        const quote = element("blockquote");
        renderBlocks(block.blocks, quote, false);
        parent.append(quote);
        break;
      }
      case "list": {
        const start = block.ordered && block.start !== 1 ? { start: String(block.start) } : {};
        const list = element(block.ordered ? "ol" : "ul", start);
        for (const item of block.items) {
          const li = element("li");
          renderBlocks(item, li, !block.loose);
          list.append(li);
        }
        parent.append(list);
        break;
      }
    }
  }
}

// A paragraph's inlines into `parent`. Iterative, with a stack of its own: emphasis may
// nest deeper than the JS call stack. Adjacent text becomes one text node.
function renderInlines(text, parent) {
  let node = parseInlines(text).first;
  let target = parent;
  let depth = 0;
  let inLink = false;
  const stack = [];
  let pending = [];
  const flush = () => {
    if (pending.length > 0) target.append(document.createTextNode(pending.join("")));
    pending = [];
  };
  const enter = (child, next, link) => {
    flush();
    target.append(child);
    stack.push({ next, target, depth, inLink, suffix: null });
    target = child;
    depth += 1;
    inLink = inLink || link;
  };
  // Into a node's children without an element of its own: `prefix` and `suffix` as text.
  const through = (prefix, suffix, next) => {
    pending.push(prefix);
    stack.push({ next, target, depth, inLink, suffix });
  };
  for (;;) {
    if (node === null) {
      if (stack.length === 0) break;
      const frame = stack.pop();
      if (frame.suffix === null) flush();
      else pending.push(frame.suffix);
      ({ next: node, target, depth, inLink } = frame);
      continue;
    }
    const next = node.next;
    switch (node.type) {
      case "text":
        pending.push(node.value);
        break;
      case "delimiter":
        pending.push(node.value.repeat(node.count));
        break;
      case "br":
        flush();
        target.append(element("br"));
        break;
      case "code": {
        flush();
        const code = element("code");
        code.append(document.createTextNode(node.value));
        target.append(code);
        break;
      }
      case "em":
      case "strong": {
        if (depth >= MAX_INLINE_NESTING) {
          const marker = node.value.repeat(node.type === "strong" ? 2 : 1);
          through(marker, marker, next);
        } else {
          enter(element(node.type), next, false);
        }
        node = node.first;
        continue;
      }
      case "link": {
        if (inLink) { // no link inside a link: its text only
          through("", "", next);
          node = node.first;
          continue;
        }
        const anchor = element("a", linkAttributes(node));
        if (isBlank(textOf(node))) { // a link always has a name: its address
          flush();
          anchor.append(document.createTextNode(node.destination));
          target.append(anchor);
          break;
        }
        enter(anchor, next, true);
        node = node.first;
        continue;
      }
      case "image": {
        const alt = textOf(node);
        if (node.href === null || inLink) {
          pending.push(alt);
        } else {
          flush();
          const anchor = element("a", linkAttributes(node));
          anchor.append(document.createTextNode(isBlank(alt) ? node.destination : alt));
          target.append(anchor);
        }
        break;
      }
    }
    node = next;
  }
  flush();
  return parent;
}

function linkAttributes(node) {
  const attributes = { href: node.href, rel: LINK_REL, target: "_blank" };
  if (node.title) attributes.title = node.title;
  return attributes;
}

// The text of an inline node's children, markup left out (an image's alt text).
function textOf(root) {
  const parts = [];
  let node = root.first;
  const stack = [];
  for (;;) {
    if (node === null) {
      if (stack.length === 0) break;
      node = stack.pop();
      continue;
    }
    switch (node.type) {
      case "text":
      case "code":
        parts.push(node.value);
        break;
      case "delimiter":
        parts.push(node.value.repeat(node.count));
        break;
      case "br":
        parts.push("\n");
        break;
      default:
        if (node.first !== null) {
          stack.push(node.next);
          node = node.first;
          continue;
        }
    }
    node = node.next;
  }
  return parts.join("");
}

function collectText(blocks, parts) {
  for (const block of blocks) {
    if (block.type === "paragraph" || block.type === "heading") parts.push(textOf(parseInlines(block.text)));
    else if (block.type === "code") parts.push(block.text);
    else if (block.type === "quote") collectText(block.blocks, parts);
    else if (block.type === "list") for (const item of block.items) collectText(item, parts);
  }
}

// --- blocks ---------------------------------------------------------------------------------

function parseDocument(text) {
  const source = String(text ?? "").replaceAll("\0", "\ufffd");
  return parseBlocks(source.split(/\r\n?|\n/), 0);
}

function isBlank(line) {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10) return false;
  }
  return true;
}

// Columns of leading white space (a tab goes to the next multiple of 4), and where the
// first other character is.
function indentation(line) {
  let columns = 0;
  let at = 0;
  for (; at < line.length; at++) {
    const c = line.charCodeAt(at);
    if (c === 32) columns += 1;
    else if (c === 9) columns += 4 - (columns % 4);
    else break;
  }
  return { columns, at };
}

// `line` without `n` columns of leading white space (or all it has).
function stripColumns(line, n) {
  let columns = 0;
  let i = 0;
  while (i < line.length && columns < n) {
    const c = line.charCodeAt(i);
    if (c === 32) {
      columns += 1;
    } else if (c === 9) {
      const after = columns + 4 - (columns % 4);
      if (after > n) return " ".repeat(after - n) + line.slice(i + 1);
      columns = after;
    } else {
      break;
    }
    i += 1;
  }
  return line.slice(i);
}

function trimSpaces(value) {
  let start = 0;
  let end = value.length;
  while (start < end && (value[start] === " " || value[start] === "\t")) start += 1;
  while (end > start && (value[end - 1] === " " || value[end - 1] === "\t")) end -= 1;
  return value.slice(start, end);
}

function openingFence(rest) {
  const mark = rest[0];
  if (mark !== "`" && mark !== "~") return null;
  let length = 0;
  while (rest[length] === mark) length += 1;
  if (length < 3) return null;
  const info = trimSpaces(rest.slice(length));
  if (mark === "`" && info.includes("`")) return null;
  return { mark, length, info };
}

function closesFence(line, fence) {
  const { columns, at } = indentation(line);
  if (columns >= 4) return false;
  let end = at;
  while (line[end] === fence.mark) end += 1;
  return end - at >= fence.length && isBlank(line.slice(end));
}

function language(info) {
  let end = 0;
  while (end < info.length && info[end] !== " " && info[end] !== "\t") end += 1;
  const word = info.slice(0, end);
  return LANGUAGE.test(word) ? word : null;
}

function atxHeading(rest) {
  let level = 0;
  while (level < 7 && rest[level] === "#") level += 1;
  if (level === 0 || level > 6) return null;
  if (level < rest.length && rest[level] !== " " && rest[level] !== "\t") return null;
  let content = trimSpaces(rest.slice(level));
  let end = content.length;
  while (end > 0 && content[end - 1] === "#") end -= 1; // a closing sequence of #s
  if (end === 0) content = "";
  else if (end < content.length && (content[end - 1] === " " || content[end - 1] === "\t")) {
    content = trimSpaces(content.slice(0, end));
  }
  return { level, content };
}

function isThematicBreak(rest) {
  const mark = rest[0];
  if (mark !== "-" && mark !== "*" && mark !== "_") return false;
  let count = 0;
  for (const c of rest) {
    if (c === mark) count += 1;
    else if (c !== " " && c !== "\t") return false;
  }
  return count >= 3;
}

// A list item's first line: its kind, number, where its content starts, and that content.
function listItem(line) {
  const { columns, at } = indentation(line);
  if (columns >= 4) return null;
  let i = at;
  let ordered = false;
  let start = 1;
  let mark = line[i];
  if (mark === "-" || mark === "+" || mark === "*") {
    i += 1;
  } else {
    while (i < line.length && i - at < 10 && line.charCodeAt(i) >= 48 && line.charCodeAt(i) <= 57) i += 1;
    if (i === at || i - at > 9 || (line[i] !== "." && line[i] !== ")")) return null;
    ordered = true;
    start = Number(line.slice(at, i));
    mark = line[i];
    i += 1;
  }
  if (i < line.length && line[i] !== " " && line[i] !== "\t") return null;
  const markerEnd = columns + (i - at);
  let column = markerEnd;
  let k = i;
  while (k < line.length && (line[k] === " " || line[k] === "\t")) {
    column = line[k] === "\t" ? column + 4 - (column % 4) : column + 1;
    k += 1;
  }
  const empty = k >= line.length;
  // Content more than 4 columns after the marker is indented code: one space is the marker's.
  const contentColumns = empty || column - markerEnd > 4 ? markerEnd + 1 : column;
  const content = empty ? "" : stripColumns(" ".repeat(markerEnd) + line.slice(i), contentColumns);
  return { ordered, mark, start, contentColumns, content, empty };
}

// Whether `line` starts a block that ends the paragraph before it.
function interruptsParagraph(line, depth) {
  const { columns, at } = indentation(line);
  if (columns >= 4) return false;
  const rest = line.slice(at);
  if (openingFence(rest) || atxHeading(rest) || isThematicBreak(rest)) return true;
  if (depth >= MAX_BLOCK_NESTING) return false;
  if (rest[0] === ">") return true;
  const item = listItem(line);
  return item !== null && !item.empty && (!item.ordered || item.start === 1);
}

function parseBlocks(lines, depth) {
  const blocks = [];
  let blank = false;
  const push = (block) => {
    block.blankBefore = blank && blocks.length > 0;
    blank = false;
    blocks.push(block);
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      blank = true;
      i += 1;
      continue;
    }
    const { columns, at } = indentation(line);
    if (columns >= 4) { // indented code: up to the last indented line
      let end = i;
      let last = i;
      while (end < lines.length && (isBlank(lines[end]) || indentation(lines[end]).columns >= 4)) {
        if (!isBlank(lines[end])) last = end;
        end += 1;
      }
      const code = lines.slice(i, last + 1).map((l) => stripColumns(l, 4));
      push({ type: "code", text: code.join("\n"), language: null });
      i = last + 1;
      continue;
    }
    const rest = line.slice(at);
    const fence = openingFence(rest);
    if (fence) { // up to the closing fence, or the end of the container
      let end = i + 1;
      while (end < lines.length && !closesFence(lines[end], fence)) end += 1;
      const code = lines.slice(i + 1, end).map((l) => stripColumns(l, columns));
      push({ type: "code", text: code.join("\n"), language: language(fence.info) });
      i = end + 1;
      continue;
    }
    const heading = atxHeading(rest);
    if (heading) {
      push({ type: "heading", level: heading.level, text: heading.content });
      i += 1;
      continue;
    }
    if (isThematicBreak(rest)) {
      push({ type: "hr" });
      i += 1;
      continue;
    }
    if (rest[0] === ">" && depth < MAX_BLOCK_NESTING) {
      const inner = [];
      let end = i;
      while (end < lines.length) {
        const quoted = lines[end];
        const indent = indentation(quoted);
        if (indent.columns >= 4 || quoted[indent.at] !== ">") break;
        let from = indent.at + 1;
        if (quoted[from] === " " || quoted[from] === "\t") from += 1;
        inner.push(quoted.slice(from));
        end += 1;
      }
      push({ type: "quote", blocks: parseBlocks(inner, depth + 1) });
      i = end;
      continue;
    }
    const item = depth < MAX_BLOCK_NESTING ? listItem(line) : null;
    if (item) {
      const [list, end] = parseList(lines, i, item, depth);
      push(list);
      i = end;
      continue;
    }
    const paragraph = [trimSpaces(rest)];
    let end = i + 1;
    while (end < lines.length && !isBlank(lines[end]) && !interruptsParagraph(lines[end], depth)) {
      paragraph.push(trimSpaces(lines[end]));
      end += 1;
    }
    push({ type: "paragraph", text: paragraph.join("\n") });
    i = end;
  }
  return blocks;
}

// The list starting at lines[i] with `first`: its items (each parsed as blocks) and where
// it ends. Loose (its paragraphs in <p>) when blank lines separate its items or their blocks.
function parseList(lines, i, first, depth) {
  const list = { type: "list", ordered: first.ordered, start: first.start, items: [], loose: false };
  let item = first;
  for (;;) {
    const content = [item.content];
    let end = i + 1;
    while (end < lines.length) {
      const line = lines[end];
      if (isBlank(line)) content.push("");
      else if (indentation(line).columns >= item.contentColumns) content.push(stripColumns(line, item.contentColumns));
      else if (!isBlank(content[content.length - 1]) && listItem(line) === null && !interruptsParagraph(line, depth)) {
        content.push(trimSpaces(line)); // a lazy continuation of the item's paragraph
      } else break;
      end += 1;
    }
    let trailingBlank = false;
    while (content.length > 1 && isBlank(content[content.length - 1])) {
      content.pop();
      trailingBlank = true;
    }
    const blocks = parseBlocks(content, depth + 1);
    if (blocks.some((block) => block.blankBefore)) list.loose = true;
    list.items.push(blocks);
    const next = end < lines.length ? listItem(lines[end]) : null;
    const rest = end < lines.length ? lines[end].slice(indentation(lines[end]).at) : "";
    if (next === null || next.ordered !== item.ordered || next.mark !== item.mark || isThematicBreak(rest)) {
      return [list, end];
    }
    if (trailingBlank) list.loose = true;
    i = end;
    item = next;
  }
}

// --- inlines ----------------------------------------------------------------------------------

class Inline {
  constructor(type, value = "") {
    this.type = type;
    this.value = value;
    this.parent = null;
    this.first = null;
    this.last = null;
    this.prev = null;
    this.next = null;
  }

  append(child) {
    child.parent = this;
    child.prev = this.last;
    child.next = null;
    if (this.last) this.last.next = child;
    else this.first = child;
    this.last = child;
  }

  unlink() {
    if (this.prev) this.prev.next = this.next;
    else if (this.parent) this.parent.first = this.next;
    if (this.next) this.next.prev = this.prev;
    else if (this.parent) this.parent.last = this.prev;
    this.parent = this.prev = this.next = null;
  }

  insertAfter(sibling) {
    sibling.parent = this.parent;
    sibling.prev = this;
    sibling.next = this.next;
    if (this.next) this.next.prev = sibling;
    else if (this.parent) this.parent.last = sibling;
    this.next = sibling;
  }
}

const WHITESPACE = /^\s$/u;
const PUNCTUATION = /^[\p{P}\p{S}]$/u;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]{1,31}:/;
const EMAIL_LOCAL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;
const EMAIL_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const HOSTNAME = /^(?:[a-z0-9_-]+\.)*[a-z0-9_-]+\.?$|^\[[0-9a-f:.]+\]$/;
const ENTITY = /&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z][A-Za-z0-9]{1,31}));/y;
const NAMED_ENTITIES = new Map(Object.entries({
  amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0", copy: "©", reg: "®",
  trade: "™", hellip: "…", mdash: "—", ndash: "–", lsquo: "‘", rsquo: "’", ldquo: "“",
  rdquo: "”", laquo: "«", raquo: "»", bull: "•", middot: "·", times: "×", divide: "÷",
  deg: "°", plusmn: "±", para: "¶", sect: "§", euro: "€", pound: "£", yen: "¥", cent: "¢",
  larr: "←", rarr: "→", uarr: "↑", darr: "↓", harr: "↔", le: "≤", ge: "≥", ne: "≠",
}));
// Where the plain text of a paragraph stops: what may start something else.
const SPECIAL = /[\\`*_[\]!<&\nhH]/g;
// After which a bare URL may start (GFM's rule): white space, or one of * _ ~ (.
const BEFORE_URL = new Set(["*", "_", "~", "("]);

function isAsciiPunctuation(c) {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

function isHighSurrogate(c) {
  return c >= 0xd800 && c <= 0xdbff;
}

// The character before index i (a whole surrogate pair), or a newline at the start.
function characterBefore(s, i) {
  if (i === 0) return "\n";
  const low = s.charCodeAt(i - 1);
  if (low >= 0xdc00 && low <= 0xdfff && i >= 2 && isHighSurrogate(s.charCodeAt(i - 2))) return s.slice(i - 2, i);
  return s[i - 1];
}

function characterAt(s, i) {
  return i >= s.length ? "\n" : String.fromCodePoint(s.codePointAt(i));
}

// The character reference at s[i] ("&amp;", "&#42;", "&#x2a;"): [its text, its length], or null.
function entity(s, i) {
  ENTITY.lastIndex = i;
  const match = ENTITY.exec(s);
  if (match === null) return null;
  if (match[3] !== undefined) {
    const named = NAMED_ENTITIES.get(match[3]);
    return named === undefined ? null : [named, match[0].length];
  }
  let point = match[1] !== undefined ? parseInt(match[1], 16) : parseInt(match[2], 10);
  if (point === 0 || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) point = 0xfffd;
  return [String.fromCodePoint(point), match[0].length];
}

// A link destination or title as meant: backslash escapes and character references resolved.
function unescape(value) {
  if (!value.includes("\\") && !value.includes("&")) return value;
  const parts = [];
  let i = 0;
  while (i < value.length) {
    const c = value.charCodeAt(i);
    if (c === 92 && isAsciiPunctuation(value.charCodeAt(i + 1))) {
      parts.push(value[i + 1]);
      i += 2;
      continue;
    }
    if (c === 38) {
      const found = entity(value, i);
      if (found !== null) {
        parts.push(found[0]);
        i += found[1];
        continue;
      }
    }
    parts.push(value[i]);
    i += 1;
  }
  return parts.join("");
}

/** The href for a link to `raw` when it is a URL of one of `protocols`, else null. */
function safeUrl(raw, protocols) {
  const value = raw.trim();
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // The URL parser would drop tabs and newlines: refuse them, and every control, instead.
    if (c < 32 || (c >= 127 && c < 160)) return null;
  }
  if (!SCHEME.test(value)) return null; // relative: refused (and no exception to pay for)
  let url;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (!protocols.has(url.protocol)) return null;
  if (url.protocol !== "mailto:" && !HOSTNAME.test(url.hostname)) return null;
  return url.href;
}

function isEmail(value) {
  const at = value.indexOf("@");
  if (at <= 0 || at !== value.lastIndexOf("@") || !EMAIL_LOCAL.test(value.slice(0, at))) return false;
  const labels = value.slice(at + 1).split(".");
  return labels.length > 0 && labels.every((label) => EMAIL_LABEL.test(label));
}

function parseInlines(text) {
  return new InlineParser(text).parse();
}

// CommonMark's inline algorithm (a delimiter stack for emphasis, a bracket stack for links)
// in linear time: backtick runs indexed by length, link tails read from tables built in
// one pass, and the "no link in a link" rule as a counter instead of a walk of the stack.
class InlineParser {
  constructor(text) {
    this.s = text;
    this.pos = 0;
    this.root = new Inline("root");
    this.delimiters = null; // the top of the emphasis delimiter stack
    this.brackets = null; // the top of the [ and ![ stack
    this.bracketCount = 0;
    this.linksBefore = 0; // [ openers numbered below this are inside a link: inactive
    this.runs = null;
    this.tables = null;
  }

  parse() {
    const s = this.s;
    const special = new RegExp(SPECIAL);
    while (this.pos < s.length) {
      special.lastIndex = this.pos;
      const match = special.exec(s);
      const at = match === null ? s.length : match.index;
      if (at > this.pos) {
        let end = at;
        if (s.charCodeAt(at) === 10) while (end > this.pos && (s[end - 1] === " " || s[end - 1] === "\t")) end -= 1;
        this.text(s.slice(this.pos, end));
      }
      if (at >= s.length) break;
      this.pos = at;
      this.special(s.charCodeAt(at));
    }
    this.processEmphasis(null);
    return this.root;
  }

  text(value) {
    if (value !== "") this.root.append(new Inline("text", value));
  }

  special(c) {
    const s = this.s;
    switch (c) {
      case 10: // every line break is kept
        this.root.append(new Inline("br"));
        this.pos += 1;
        return;
      case 92: { // "\": an escape, or a line break
        const next = s.charCodeAt(this.pos + 1);
        if (next === 10) {
          this.root.append(new Inline("br"));
          this.pos += 2;
        } else if (isAsciiPunctuation(next)) {
          this.text(s[this.pos + 1]);
          this.pos += 2;
        } else {
          this.text("\\");
          this.pos += 1;
        }
        return;
      }
      case 96:
        this.codeSpan();
        return;
      case 42:
      case 95:
        this.delimiterRun(c);
        return;
      case 91:
        this.openBracket(1, false);
        return;
      case 33:
        if (s.charCodeAt(this.pos + 1) === 91) this.openBracket(2, true);
        else this.literal(1);
        return;
      case 93:
        this.closeBracket();
        return;
      case 60:
        this.angleAutolink();
        return;
      case 38: {
        const found = entity(s, this.pos);
        if (found === null) {
          this.literal(1);
        } else {
          this.text(found[0]);
          this.pos += found[1];
        }
        return;
      }
      default: // h or H
        this.bareUrl();
    }
  }

  literal(length) {
    this.text(this.s.slice(this.pos, this.pos + length));
    this.pos += length;
  }

  // --- code spans

  codeSpan() {
    const s = this.s;
    const start = this.pos;
    let end = start;
    while (s.charCodeAt(end) === 96) end += 1;
    const length = end - start;
    const closer = this.nextBacktickRun(length, end);
    if (closer < 0) {
      this.literal(length);
      return;
    }
    let code = s.slice(end, closer).replaceAll("\n", " ");
    if (code.length >= 2 && code[0] === " " && code[code.length - 1] === " " && !/^ *$/.test(code)) {
      code = code.slice(1, -1);
    }
    this.root.append(new Inline("code", code));
    this.pos = closer + length;
  }

  // The first whole run of exactly `length` backticks at or after `from`, or -1. Each
  // length's runs are read once, in order: the scan only moves forward.
  nextBacktickRun(length, from) {
    if (this.runs === null) {
      this.runs = new Map();
      const s = this.s;
      let i = s.indexOf("`");
      while (i >= 0) {
        let j = i;
        while (s.charCodeAt(j) === 96) j += 1;
        if (!this.runs.has(j - i)) this.runs.set(j - i, { at: [], next: 0 });
        this.runs.get(j - i).at.push(i);
        i = s.indexOf("`", j);
      }
    }
    const runs = this.runs.get(length);
    if (runs === undefined) return -1;
    while (runs.next < runs.at.length && runs.at[runs.next] < from) runs.next += 1;
    return runs.next < runs.at.length ? runs.at[runs.next] : -1;
  }

  // --- emphasis

  delimiterRun(c) {
    const s = this.s;
    const start = this.pos;
    let end = start;
    while (s.charCodeAt(end) === c) end += 1;
    const before = characterBefore(s, start);
    const after = characterAt(s, end);
    const spaceBefore = WHITESPACE.test(before);
    const spaceAfter = WHITESPACE.test(after);
    const punctuationBefore = PUNCTUATION.test(before);
    const punctuationAfter = PUNCTUATION.test(after);
    const left = !spaceAfter && (!punctuationAfter || spaceBefore || punctuationBefore);
    const right = !spaceBefore && (!punctuationBefore || spaceAfter || punctuationAfter);
    const underscore = c === 95;
    const canOpen = underscore ? left && (!right || punctuationBefore) : left;
    const canClose = underscore ? right && (!left || punctuationAfter) : right;
    const node = new Inline("delimiter", s[start]);
    node.count = end - start;
    this.root.append(node);
    if (canOpen || canClose) {
      const delimiter = { node, character: c, original: node.count, canOpen, canClose, prev: this.delimiters, next: null };
      if (this.delimiters) this.delimiters.next = delimiter;
      this.delimiters = delimiter;
    }
    this.pos = end;
  }

  removeDelimiter(delimiter) {
    if (delimiter.prev !== null) delimiter.prev.next = delimiter.next;
    if (delimiter.next === null) this.delimiters = delimiter.prev;
    else delimiter.next.prev = delimiter.prev;
  }

  // CommonMark's "process emphasis" above `bottom`, with its per-kind lower bounds for the
  // search of openers that keep it linear.
  processEmphasis(bottom) {
    const openersBottom = new Array(12).fill(bottom);
    let closer = this.delimiters;
    while (closer !== null && closer.prev !== bottom) closer = closer.prev;
    while (closer !== null) {
      if (!closer.canClose) {
        closer = closer.next;
        continue;
      }
      const kind = (closer.character === 95 ? 0 : 6) + (closer.canOpen ? 3 : 0) + (closer.original % 3);
      let opener = closer.prev;
      let found = false;
      while (opener !== null && opener !== bottom && opener !== openersBottom[kind]) {
        const odd = (closer.canOpen || opener.canClose) && closer.original % 3 !== 0
          && (opener.original + closer.original) % 3 === 0;
        if (opener.character === closer.character && opener.canOpen && !odd) {
          found = true;
          break;
        }
        opener = opener.prev;
      }
      if (!found) {
        openersBottom[kind] = closer.prev;
        const next = closer.next;
        if (!closer.canOpen) this.removeDelimiter(closer);
        closer = next;
        continue;
      }
      const used = closer.node.count >= 2 && opener.node.count >= 2 ? 2 : 1;
      opener.node.count -= used;
      closer.node.count -= used;
      const emphasis = new Inline(used === 1 ? "em" : "strong", opener.node.value);
      let child = opener.node.next;
      while (child !== null && child !== closer.node) {
        const next = child.next;
        child.unlink();
        emphasis.append(child);
        child = next;
      }
      opener.node.insertAfter(emphasis);
      // The delimiters between them are inside the emphasis now: no longer candidates.
      opener.next = closer;
      closer.prev = opener;
      if (opener.node.count === 0) {
        opener.node.unlink();
        this.removeDelimiter(opener);
      }
      if (closer.node.count === 0) {
        closer.node.unlink();
        const next = closer.next;
        this.removeDelimiter(closer);
        closer = next;
      }
    }
    while (this.delimiters !== null && this.delimiters !== bottom) this.removeDelimiter(this.delimiters);
  }

  // --- links and images

  openBracket(length, image) {
    const node = new Inline("text", this.s.slice(this.pos, this.pos + length));
    this.root.append(node);
    this.brackets = { node, image, number: this.bracketCount, prev: this.brackets, delimiter: this.delimiters };
    this.bracketCount += 1;
    this.pos += length;
  }

  closeBracket() {
    const opener = this.brackets;
    if (opener === null) {
      this.literal(1);
      return;
    }
    this.brackets = opener.prev;
    if (!opener.image && opener.number < this.linksBefore) {
      this.literal(1);
      return;
    }
    const tail = this.s.charCodeAt(this.pos + 1) === 40 ? this.linkTail(this.pos + 1) : null;
    const href = tail === null ? null : safeUrl(tail.destination, opener.image ? IMAGE_PROTOCOLS : LINK_PROTOCOLS);
    // A link to anything but an allowed URL is no link: its source stays text. An image
    // is its alt text either way.
    if (tail === null || (href === null && !opener.image)) {
      this.literal(1);
      return;
    }
    const node = new Inline(opener.image ? "image" : "link");
    node.href = href;
    node.destination = tail.destination.trim();
    node.title = tail.title;
    let child = opener.node.next;
    while (child !== null) {
      const next = child.next;
      child.unlink();
      node.append(child);
      child = next;
    }
    this.root.append(node);
    this.processEmphasis(opener.delimiter);
    opener.node.unlink();
    if (!opener.image) this.linksBefore = this.bracketCount;
    this.pos = tail.end + 1;
  }

  // Tables over the paragraph, built once and only if it has a "](": for each index, the
  // next white space or control, the next non-space, the depth of unescaped parentheses
  // before it, and for each "(" its matching ")".
  linkTables() {
    if (this.tables !== null) return this.tables;
    const s = this.s;
    const n = s.length;
    const escaped = new Uint8Array(n + 1);
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) === 92 && isAsciiPunctuation(s.charCodeAt(i + 1))) {
        escaped[i + 1] = 1;
        i += 1;
      }
    }
    const depth = new Int32Array(n + 1);
    const match = new Int32Array(n + 1).fill(-1);
    const open = [];
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      let d = depth[i];
      if (!escaped[i] && c === 40) {
        open.push(i);
        d += 1;
      } else if (!escaped[i] && c === 41) {
        if (open.length > 0) match[open.pop()] = i;
        d -= 1;
      }
      depth[i + 1] = d;
    }
    const space = new Int32Array(n + 1);
    const solid = new Int32Array(n + 1);
    space[n] = n;
    solid[n] = n;
    for (let i = n - 1; i >= 0; i--) {
      const c = s.charCodeAt(i);
      space[i] = c <= 32 || c === 127 ? i : space[i + 1];
      solid[i] = c === 32 || c === 9 || c === 10 ? solid[i + 1] : i;
    }
    this.tables = { escaped, depth, match, space, solid, next: new Map() };
    return this.tables;
  }

  // The first unescaped `character` at or after `from` (the length if none).
  nextUnescaped(character, from) {
    const tables = this.linkTables();
    let next = tables.next.get(character);
    if (next === undefined) {
      const s = this.s;
      next = new Int32Array(s.length + 1);
      next[s.length] = s.length;
      for (let i = s.length - 1; i >= 0; i--) next[i] = s[i] === character && !tables.escaped[i] ? i : next[i + 1];
      tables.next.set(character, next);
    }
    return next[Math.min(from, this.s.length)];
  }

  // "(destination "title")" at s[p]: the destination, the title and the index of ")".
  linkTail(p) {
    const s = this.s;
    const n = s.length;
    const { depth, match, space, solid } = this.linkTables();
    const q = solid[p + 1];
    if (q >= n) return null;
    if (s[q] === ")") return { destination: "", title: null, end: q };
    let destination;
    let after;
    if (s[q] === "<") {
      const close = this.nextUnescaped(">", q + 1);
      if (close >= n || this.nextUnescaped("<", q + 1) < close || this.nextUnescaped("\n", q + 1) < close) return null;
      destination = s.slice(q + 1, close);
      after = close + 1;
    } else {
      const end = match[p] >= 0 && match[p] < space[q] ? match[p] : space[q];
      if (end === q || depth[end] !== depth[q]) return null; // empty, or parentheses unbalanced
      destination = s.slice(q, end);
      after = end;
    }
    destination = unescape(destination);
    if (s[after] === ")") return { destination, title: null, end: after };
    const t = solid[after];
    if (t >= n || t === after) return null;
    if (s[t] === ")") return { destination, title: null, end: t };
    const quote = s[t];
    if (quote !== '"' && quote !== "'" && quote !== "(") return null;
    const close = this.nextUnescaped(quote === "(" ? ")" : quote, t + 1);
    if (close >= n || (quote === "(" && this.nextUnescaped("(", t + 1) < close)) return null;
    const end = solid[close + 1];
    if (s[end] !== ")") return null;
    return { destination, title: unescape(s.slice(t + 1, close)), end };
  }

  // <https://example.com> or <someone@example.com>; anything else between < and > is text.
  angleAutolink() {
    const s = this.s;
    const start = this.pos;
    let end = start + 1;
    while (end < s.length) {
      const c = s.charCodeAt(end);
      if (c === 62 || c === 60 || c <= 32 || c === 127) break;
      end += 1;
    }
    if (s.charCodeAt(end) === 62 && end > start + 1) {
      const inner = s.slice(start + 1, end);
      let href = null;
      if (SCHEME.test(inner)) href = safeUrl(inner, LINK_PROTOCOLS);
      else if (isEmail(inner)) href = safeUrl(`mailto:${inner}`, LINK_PROTOCOLS);
      if (href !== null) {
        this.autolink(href, inner);
        this.pos = end + 1;
        return;
      }
    }
    this.literal(1);
  }

  autolink(href, shown) {
    const node = new Inline("link");
    node.href = href;
    node.destination = shown;
    node.title = null;
    node.append(new Inline("text", shown));
    this.root.append(node);
  }

  // A bare http(s) URL, GFM's way: after white space or * _ ~ (, up to white space or <
  // (or ], inside a link's text), less trailing punctuation and unbalanced ")". What looks
  // like one but is no valid URL is text, all of it: nothing inside it is read again.
  bareUrl() {
    const s = this.s;
    const start = this.pos;
    const before = characterBefore(s, start);
    const head = s.slice(start, start + 8).toLowerCase();
    if (!(WHITESPACE.test(before) || BEFORE_URL.has(before)) || !(head.startsWith("http://") || head === "https://")) {
      this.literal(1);
      return;
    }
    const inLinkText = this.brackets !== null;
    let end = start;
    let opened = 0;
    let closed = 0;
    while (end < s.length) {
      const c = s.charCodeAt(end);
      if (c <= 32 || c === 127 || c === 60 || (c === 93 && inLinkText)) break;
      if (c === 40) opened += 1;
      else if (c === 41) closed += 1;
      end += 1;
    }
    const whole = end;
    for (;;) {
      const last = s[end - 1];
      if ("?!.,:*_~'\"".includes(last)) {
        end -= 1;
      } else if (last === ")" && closed > opened) {
        closed -= 1;
        end -= 1;
      } else if (last === ";") { // a character reference at the end is not the URL's
        let k = end - 2;
        while (k > start && /[A-Za-z0-9]/.test(s[k])) k -= 1;
        if (s[k] !== "&" || k === end - 2) break;
        end = k;
      } else {
        break;
      }
    }
    const shown = s.slice(start, end);
    const href = shown.includes("://") ? safeUrl(shown, IMAGE_PROTOCOLS) : null;
    if (href === null || end - start <= head.indexOf("//") + 2) {
      this.literal(whole - start);
      return;
    }
    this.autolink(href, shown);
    this.pos = end;
  }
}
