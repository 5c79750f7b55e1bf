// A tiny, safe Markdown renderer. It never parses HTML: every piece of text becomes a DOM
// text node (so "<script>" is shown as text, never run), and links are kept only for
// http(s) URLs. Supported: paragraphs, line breaks, # headings, - and 1. lists, > quotes,
// ``` fenced code, `code`, **bold**, *italic*, [links](https://...).
"use strict";

(function () {
  function el(tag, children) {
    const node = document.createElement(tag);
    for (const child of children || []) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  const INLINE = /(`+)([^`]+?)\1|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*?)\*|\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g;

  function inline(text) {
    const out = [];
    let last = 0;
    for (const m of text.matchAll(INLINE)) {
      if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
      if (m[2] !== undefined) out.push(el("code", [m[2]]));
      else if (m[3] !== undefined) out.push(el("strong", inline(m[3])));
      else if (m[4] !== undefined) out.push(el("strong", inline(m[4])));
      else if (m[5] !== undefined) out.push(el("em", inline(m[5])));
      else {
        const a = el("a", [m[6]]);
        a.href = m[7];  // only http(s): the pattern admits nothing else
        a.rel = "noopener noreferrer";
        a.target = "_blank";
        out.push(a);
      }
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(document.createTextNode(text.slice(last)));
    return out;
  }

  function withBreaks(lines) {
    const out = [];
    lines.forEach((line, i) => {
      if (i > 0) out.push(document.createElement("br"));
      out.push(...inline(line));
    });
    return out;
  }

  function blocks(text) {
    const lines = text.replace(/\r\n?/g, "\n").split("\n");
    const out = [];
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      const fence = line.match(/^\s*(```|~~~)(.*)$/);
      if (fence) {
        const body = [];
        i++;
        while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
        i++;  // the closing fence (or the end of a still-streaming block)
        const code = el("code", [body.join("\n")]);
        const lang = fence[2].trim();
        if (/^[\w+-]{1,20}$/.test(lang)) code.dataset.lang = lang;
        out.push(el("pre", [code]));
        continue;
      }
      const heading = line.match(/^(#{1,6})\s+(.*)$/);
      if (heading) {
        const level = Math.min(6, heading[1].length + 2);
        out.push(el("h" + level, inline(heading[2])));
        i++;
        continue;
      }
      if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
        const ordered = /^\s*\d+[.)]\s+/.test(line);
        const list = document.createElement(ordered ? "ol" : "ul");
        while (i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i])) {
          list.append(el("li", inline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, ""))));
          i++;
        }
        out.push(list);
        continue;
      }
      if (/^>\s?/.test(line)) {
        const quoted = [];
        while (i < lines.length && /^>\s?/.test(lines[i])) quoted.push(lines[i++].replace(/^>\s?/, ""));
        out.push(el("blockquote", withBreaks(quoted)));
        continue;
      }
      if (!line.trim()) { i++; continue; }
      const para = [];
      while (i < lines.length && lines[i].trim() && !/^(\s*(```|~~~)|#{1,6}\s|>\s?|\s*([-*+]|\d+[.)])\s+)/.test(lines[i])) {
        para.push(lines[i++]);
      }
      if (!para.length) para.push(lines[i++]);
      out.push(el("p", withBreaks(para)));
    }
    return out;
  }

  // Replace the children of `target` with `text` rendered as Markdown.
  window.renderMarkdown = function (target, text) {
    target.replaceChildren(...blocks(String(text || "")));
  };
})();
