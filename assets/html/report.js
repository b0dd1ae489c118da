// pydive's HTML report: draws everything from the one JSON document in the page. d3-hierarchy
// (vendored, inlined before this script) lays out the treemap; this script only draws its
// rectangles, as absolutely placed elements, and handles the mouse and the keyboard.
(function () {
  "use strict";

  const data = JSON.parse(document.getElementById("pydive-data").textContent);
  const R = data.report;
  const layers = R.image.layers;
  const MAX_DEPTH = 6;

  // ---- small helpers ----

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  // Sizes as every pydive report prints them: decimal units, one decimal, plain bytes under 1 kB.
  function size(bytes) {
    if (bytes < 1000) return bytes + " B";
    const units = ["kB", "MB", "GB", "TB", "PB"];
    let v = bytes;
    let u = -1;
    while (v >= 1000 && u < units.length - 1) {
      v /= 1000;
      u++;
    }
    return v.toFixed(1) + " " + units[u];
  }

  function count(n, one, many) {
    return n.toLocaleString("en-US") + " " + (n === 1 ? one : many);
  }

  function percent(part, whole) {
    if (!whole) return "";
    const p = (100 * part) / whole;
    return (p < 0.1 && p > 0 ? "<0.1" : p.toFixed(1)) + " %";
  }

  function step(i) {
    return i >= 0 && i < data.steps.length ? data.steps[i] : "";
  }

  // ---- the tiles: [name, bytes, files, layer, categories, dist, children?] ----

  const nodes = [];
  function adopt(raw, parent, waste, group) {
    const n = {
      id: nodes.length,
      name: raw[0],
      bytes: raw[1],
      files: raw[2],
      layer: raw[3],
      cats: raw[4],
      dist: raw[5],
      parent: parent,
      waste: waste,
      group: group,
      children: null,
    };
    nodes.push(n);
    if (n.name === "") n.name = count(n.files, "small file", "small files");
    n.folded = raw[0] === "" && !raw[6];
    const base = parent && parent.path !== undefined ? parent.path : "";
    n.path = parent ? base + "/" + n.name : "";
    if (raw[6]) n.children = raw[6].map((c) => adopt(c, n, waste, group));
    return n;
  }

  const root = { id: -1, name: R.image.reference, children: [], path: undefined, isRoot: true };
  const fs = adopt(data.tree, null, false, null);
  fs.name = "/ (final filesystem)";
  fs.path = "";
  fs.parent = root;
  fs.isFs = true;
  root.children.push(fs);
  if (data.waste.length) {
    const wasteRoot = {
      id: -2,
      name: "wasted (deleted or overwritten later)",
      children: [],
      parent: root,
      waste: true,
      path: undefined,
    };
    for (const g of data.waste) {
      const t = adopt(g.tile, null, true, g);
      t.name = g.fate + " by layer " + g.by;
      t.parent = wasteRoot;
      t.path = "";
      wasteRoot.children.push(t);
    }
    root.children.push(wasteRoot);
  }

  // ---- colours ----

  const CATEGORY_COLOURS = {
    "pip-cache": "#c2255c",
    "uv-cache": "#d6336c",
    "poetry-cache": "#a61e4d",
    compilers: "#e03131",
    headers: "#f59f00",
    "apt-cache": "#1c7ed6",
    pycache: "#15aabf",
    wheels: "#e64980",
    "static-libs": "#ff8787",
    tests: "#fcc419",
    docs: "#74c0fc",
    "debug-info": "#37b24d",
  };
  const PALETTE = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6", "#d37295", "#8cd17d",
  ];
  const NONE = "var(--none)";

  // A file's colour: its first category, as CategorySet::primary picks it. Debug info is
  // bytes inside an ELF file, so it never colours a whole one.
  function primaryCategory(bits) {
    for (let i = 0; i < data.categories.length; i++) {
      if (bits & (1 << i) && data.categories[i] !== "debug-info") return data.categories[i];
    }
    return null;
  }

  function categoriesOf(bits) {
    return data.categories.filter((_, i) => bits & (1 << i));
  }

  let colourBy = "category";
  // A leaf's colour key in the current mode; null: no category, no distribution.
  function keyOf(n) {
    if (colourBy === "layer") return n.layer >= 0 ? n.layer : null;
    if (colourBy === "dist") return n.dist >= 0 ? n.dist : null;
    return primaryCategory(n.cats);
  }
  function colourOfKey(k) {
    if (k === null || k === undefined) return NONE;
    if (colourBy === "category") return CATEGORY_COLOURS[k] || NONE;
    return PALETTE[k % PALETTE.length];
  }
  // Dark text on light tiles, light text on dark ones.
  function inkFor(colour) {
    if (colour === NONE) return "var(--fg)";
    const m = /^#(..)(..)(..)$/.exec(colour);
    if (!m) return "";
    const [r, g, b] = m.slice(1).map((x) => parseInt(x, 16) / 255);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 ? "#fff" : "#111";
  }

  // ---- state ----

  let zoom = root;
  let layerFilter = null;
  let query = "";
  let selected = 0;
  let drawn = []; // hierarchy nodes at depth 1, in layout order
  const byId = new Map();

  function value(n) {
    if (layerFilter !== null && n.layer !== layerFilter) return 0;
    return n.bytes;
  }

  // The colour key holding most of a subtree's bytes, for a directory drawn as one tile.
  function dominant(n) {
    const sums = new Map();
    const stack = [n];
    while (stack.length) {
      const x = stack.pop();
      if (x.children) stack.push(...x.children);
      else {
        const v = value(x);
        if (v > 0) {
          const k = keyOf(x);
          sums.set(k, (sums.get(k) || 0) + v);
        }
      }
    }
    let best = null;
    let most = -1;
    for (const [k, v] of sums) if (v > most) [best, most] = [k, v];
    return best;
  }

  // ---- search ----

  let hitAbove = null;
  let hitBelow = null;
  function search(q) {
    query = q.trim().toLowerCase();
    const out = document.getElementById("search-result");
    if (!query) {
      hitAbove = hitBelow = null;
      out.textContent = "";
      return;
    }
    hitAbove = new Uint8Array(nodes.length);
    hitBelow = new Uint8Array(nodes.length);
    let files = 0;
    let bytes = 0;
    // Parents come before their children in `nodes`.
    for (const n of nodes) {
      const self = n.path.toLowerCase().includes(query);
      const above = self || (n.parent && n.parent.id >= 0 && hitAbove[n.parent.id] === 1);
      hitAbove[n.id] = above ? 1 : 0;
      if (above && !n.children) {
        files += n.files;
        bytes += n.bytes;
      }
    }
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i];
      if (hitAbove[i]) hitBelow[i] = 1;
      if (hitBelow[i] && n.parent && n.parent.id >= 0) hitBelow[n.parent.id] = 1;
    }
    out.textContent = files
      ? count(files, "file matches", "files match") + ", " + size(bytes)
      : "no path matches";
  }

  function isHit(n) {
    if (!hitAbove) return false;
    if (n.id < 0) return n.children.some(isHit);
    return hitAbove[n.id] === 1 || hitBelow[n.id] === 1;
  }

  // ---- the treemap ----

  const map = document.getElementById("treemap");
  const tooltip = document.getElementById("tooltip");

  function render() {
    const W = map.clientWidth;
    const H = map.clientHeight;
    const hier = d3
      .hierarchy(zoom, (n) => n.children)
      .sum((n) => (n.children ? 0 : value(n)))
      .sort((a, b) => b.value - a.value);
    d3
      .treemap()
      .tile(d3.treemapSquarify)
      .size([W, H])
      .paddingInner(1)
      .paddingTop((d) => (d.depth > 0 && d.x1 - d.x0 > 40 && d.y1 - d.y0 > 36 ? 15 : d.depth > 0 ? 1 : 0))
      .paddingRight((d) => (d.depth > 0 ? 1 : 0))
      .paddingBottom((d) => (d.depth > 0 ? 1 : 0))
      .paddingLeft((d) => (d.depth > 0 ? 1 : 0))
      .round(true)(hier);
    const frag = document.createDocumentFragment();
    byId.clear();
    function draw(d) {
      if (d.value <= 0) return;
      const n = d.data;
      const w = d.x1 - d.x0;
      const ht = d.y1 - d.y0;
      const leaf = !d.children || d.depth >= MAX_DEPTH || w < 36 || ht < 28;
      const key = "t" + byId.size;
      byId.set(key, d);
      const tile = h("div", {
        class: "tile " + (leaf ? "leaf" : "dir") + (n.waste ? " waste" : "") + (isHit(n) ? " hit" : ""),
        "data-key": key,
        "data-bytes": d.value,
        "data-path": n.path || n.name,
      });
      tile.style.left = d.x0 + "px";
      tile.style.top = d.y0 + "px";
      tile.style.width = w + "px";
      tile.style.height = ht + "px";
      if (leaf) {
        const colour = colourOfKey(n.children ? dominant(n) : keyOf(n));
        tile.style.backgroundColor = colour;
        const ink = inkFor(colour);
        if (ink) tile.style.color = ink;
      }
      if (w > 44 && ht > 13) {
        const text = leaf && ht > 28 ? [n.name, h("br"), size(d.value)] : [n.name + "  " + size(d.value)];
        tile.append(h("span", { class: "label" }, text));
      }
      frag.append(tile);
      if (!leaf) d.children.forEach(draw);
    }
    drawn = hier.children ? hier.children.filter((d) => d.value > 0) : [];
    drawn.forEach(draw);
    map.replaceChildren(frag);
    map.classList.toggle("searching", !!hitAbove);
    if (!drawn.length) {
      map.append(h("p", { class: "empty", style: "padding: 8px" }, "Nothing here holds bytes with this filter."));
    }
    selected = Math.min(selected, Math.max(drawn.length - 1, 0));
    markSelected();
    crumbs();
    legend();
    document.documentElement.dataset.tiles = String(map.querySelectorAll(".tile.leaf").length);
  }

  function markSelected() {
    for (const t of map.querySelectorAll(".tile.selected")) t.classList.remove("selected");
    const d = drawn[selected];
    if (!d) {
      document.getElementById("selected").replaceChildren();
      return;
    }
    for (const [key, x] of byId) {
      if (x === d) {
        const t = map.querySelector('[data-key="' + key + '"]');
        if (t) t.classList.add("selected");
        break;
      }
    }
    document.getElementById("selected").replaceChildren(details(d.data, d.value));
  }

  function zoomTo(n) {
    zoom = n;
    selected = 0;
    render();
  }

  function crumbs() {
    const nav = document.getElementById("crumbs");
    const chain = [];
    for (let n = zoom; n; n = n.parent) chain.unshift(n);
    nav.replaceChildren();
    chain.forEach((n, i) => {
      if (i > 0) nav.append(h("span", { class: "sep", "aria-hidden": "true" }, "›"));
      const label = n.isRoot ? "image" : n.name;
      if (i === chain.length - 1) nav.append(h("span", { class: "here", "aria-current": "location" }, label));
      else nav.append(h("button", { type: "button", onclick: () => zoomTo(n) }, label));
    });
  }

  function details(n, bytes) {
    const lines = [];
    const where = n.isRoot ? R.image.reference : n.path === "" || n.path === undefined ? n.name : n.path;
    lines.push(h("span", { class: "path" }, where));
    const image = R.image.files_bytes;
    let what = size(bytes) + " (" + percent(bytes, image) + " of the final filesystem)";
    if (n.files !== undefined) what += ", " + count(n.files, "file", "files");
    lines.push(h("div", {}, what));
    if (n.layer !== undefined && n.layer >= 0) {
      const verb = n.waste ? "added in layer " : "from layer ";
      lines.push(h("div", {}, h("b", {}, verb + n.layer + ": "), step(n.layer)));
    }
    const g = n.group;
    if (g) lines.push(h("div", {}, h("b", {}, g.fate + " by layer " + g.by + ": "), step(g.by)));
    if (n.cats) lines.push(h("div", {}, h("b", {}, "categories: "), categoriesOf(n.cats).join(", ")));
    if (n.dist !== undefined && n.dist >= 0) lines.push(h("div", {}, h("b", {}, "distribution: "), data.dists[n.dist]));
    if (n.folded) lines.push(h("div", { class: "hint" }, "files under " + size(data.fold_threshold) + " each, kept together"));
    return h("div", { class: "detail" }, lines);
  }

  map.addEventListener("mousemove", (ev) => {
    const t = ev.target.closest(".tile");
    if (!t) {
      tooltip.hidden = true;
      return;
    }
    const d = byId.get(t.dataset.key);
    tooltip.replaceChildren(details(d.data, d.value));
    tooltip.hidden = false;
    const pad = 14;
    const r = tooltip.getBoundingClientRect();
    let x = ev.clientX + pad;
    let y = ev.clientY + pad;
    if (x + r.width > window.innerWidth) x = ev.clientX - r.width - pad;
    if (y + r.height > window.innerHeight) y = ev.clientY - r.height - pad;
    tooltip.style.left = Math.max(0, x) + "px";
    tooltip.style.top = Math.max(0, y) + "px";
  });
  map.addEventListener("mouseleave", () => (tooltip.hidden = true));

  map.addEventListener("click", (ev) => {
    const t = ev.target.closest(".tile");
    if (!t) return;
    let d = byId.get(t.dataset.key);
    while (d.depth > 1) d = d.parent;
    selected = Math.max(0, drawn.indexOf(d));
    if (d.data.children && d.data.children.length) zoomTo(d.data);
    else markSelected();
  });

  map.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") selected = Math.min(selected + 1, drawn.length - 1);
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") selected = Math.max(selected - 1, 0);
    else if (ev.key === "Home") selected = 0;
    else if (ev.key === "End") selected = Math.max(drawn.length - 1, 0);
    else if (ev.key === "Enter" || ev.key === " ") {
      const d = drawn[selected];
      if (d && d.data.children && d.data.children.length) zoomTo(d.data);
    } else if (ev.key === "Backspace" || ev.key === "Escape") {
      if (zoom.parent) {
        const from = zoom;
        zoomTo(zoom.parent);
        selected = Math.max(0, drawn.findIndex((d) => d.data === from));
      }
    } else return;
    ev.preventDefault();
    markSelected();
  });

  document.addEventListener("keydown", (ev) => {
    const typing = ev.target instanceof HTMLInputElement;
    if (ev.key === "/" && !typing) {
      ev.preventDefault();
      document.getElementById("search").focus();
    }
  });

  function legend() {
    const box = document.getElementById("legend");
    const items = [];
    const swatch = (colour, label) =>
      h("span", {}, h("span", { class: "swatch", style: "background:" + colour }), label);
    if (colourBy === "category") {
      for (const id of data.categories) {
        const t = data.primary[id];
        if (t && t.bytes > 0) items.push(swatch(CATEGORY_COLOURS[id], id + " " + size(t.bytes)));
      }
      const claimed = Object.values(data.primary).reduce((sum, t) => sum + t.bytes, 0);
      items.push(swatch(NONE, "no category " + size(Math.max(0, R.image.files_bytes - claimed))));
    } else if (colourBy === "layer") {
      layers.forEach((l, i) => items.push(swatch(PALETTE[i % PALETTE.length], "layer " + i)));
    } else {
      const order = data.dists
        .map((d, i) => [d, i, R.python.distributions[i].size_bytes])
        .sort((a, b) => b[2] - a[2]);
      for (const [d, i] of order.slice(0, 14)) items.push(swatch(PALETTE[i % PALETTE.length], d));
      if (order.length > 14) items.push(h("span", {}, "and " + (order.length - 14) + " more"));
      items.push(swatch(NONE, "not in a distribution"));
    }
    if (data.waste.length) items.push(h("span", {}, h("span", { class: "swatch waste-swatch" }), "wasted (hatched)"));
    box.replaceChildren(...items);
  }

  for (const radio of document.querySelectorAll('input[name="colour"]')) {
    radio.addEventListener("change", () => {
      colourBy = radio.value;
      render();
    });
  }

  let searchTimer = 0;
  document.getElementById("search").addEventListener("input", (ev) => {
    clearTimeout(searchTimer);
    const q = ev.target.value;
    searchTimer = setTimeout(() => {
      search(q);
      render();
    }, 120);
  });

  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(render, 150);
  });

  document.getElementById("theme").addEventListener("click", () => {
    const root = document.documentElement;
    const dark =
      root.dataset.theme === "dark" ||
      (!root.dataset.theme && window.matchMedia("(prefers-color-scheme: dark)").matches);
    root.dataset.theme = dark ? "light" : "dark";
  });

  // ---- the header ----

  function header() {
    document.getElementById("reference").textContent = R.image.reference;
    const img = R.image;
    const platform = [img.os, img.architecture, img.variant].filter(Boolean).join("/");
    const libc = R.libc.family === "none" ? "none found" : [R.libc.family, R.libc.version].filter(Boolean).join(" ");
    const pythons = [...new Set(R.python.interpreters.map((i) => i.version))];
    const sev = (s) => R.findings.filter((f) => f.severity === s).length;
    const findings = h(
      "span",
      {},
      h("span", { class: sev("error") ? "sev-error" : "" }, count(sev("error"), "error", "errors")),
      ", ",
      h("span", { class: sev("warning") ? "sev-warning" : "" }, count(sev("warning"), "warning", "warnings")),
      ", ",
      h("span", { class: sev("info") ? "sev-info" : "" }, count(sev("info"), "note", "notes"))
    );
    const w = R.waste;
    const facts = [
      ["platform", platform],
      ["size (layer tars)", size(img.size_bytes)],
      ["final filesystem", [size(img.files_bytes), h("small", {}, count(img.files, "file", "files"))]],
      ["layers", String(layers.length)],
      ["wasted", [size(w.wasted_bytes), h("small", {}, "deleted " + size(w.deleted_bytes) + ", overwritten " + size(w.overwritten_bytes))]],
      ["dive efficiency", (100 * w.dive_efficiency).toFixed(1) + " %"],
      ["libc", [libc, R.libc.os ? h("small", {}, R.libc.os) : null]],
      ["Python", pythons.length ? pythons.join(", ") : "none"],
      ["findings", findings],
    ];
    document.getElementById("facts").replaceChildren(...facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));
  }

  // ---- layers ----

  function layerBars() {
    const max = Math.max(1, ...layers.map((l) => l.files_bytes));
    const list = document.getElementById("layers");
    layers.forEach((l, i) => {
      const bar = h("span", { class: "bar", style: "width:" + ((100 * l.files_bytes) / max).toFixed(2) + "%" });
      // Categories overlap (a file can be in two); like the terminal's bar, each counts until
      // the layer's bytes are used up, and the rest is uncategorised.
      let used = 0;
      for (const id of data.categories) {
        const t = l.categories[id];
        if (!t || !l.files_bytes) continue;
        const part = Math.min(t.bytes, l.files_bytes - used);
        if (part <= 0) break;
        used += part;
        bar.append(h("span", { title: id + " " + size(t.bytes), style: "background:" + CATEGORY_COLOURS[id] + ";width:" + ((100 * part) / l.files_bytes).toFixed(3) + "%" }));
      }
      if (l.files_bytes > used) {
        bar.append(h("span", { title: "no category", style: "background:" + NONE + ";width:" + ((100 * (l.files_bytes - used)) / l.files_bytes).toFixed(3) + "%" }));
      }
      const button = h(
        "button",
        { type: "button", class: "layer-row", "aria-pressed": "false", title: l.created_by || "(no history)", "data-layer": i },
        h("span", {}, "L" + i),
        h("span", { class: "size" }, size(l.files_bytes)),
        h("span", {}, bar),
        h("span", { class: "step" }, step(i) || "(no step in the image history)")
      );
      button.addEventListener("click", () => filterLayer(layerFilter === i ? null : i));
      list.append(h("li", {}, button));
    });
  }

  function filterLayer(i) {
    layerFilter = i;
    for (const b of document.querySelectorAll(".layer-row")) b.setAttribute("aria-pressed", String(Number(b.dataset.layer) === i));
    const note = document.getElementById("filter-note");
    if (i === null) note.hidden = true;
    else {
      note.hidden = false;
      note.replaceChildren(
        "Showing only what layer " + i + " added (" + size(layers[i].files_bytes) + "): " + step(i) + " ",
        h("button", { type: "button", onclick: () => filterLayer(null) }, "show every layer")
      );
    }
    render();
  }

  // ---- tables ----

  function table(columns, rows, empty) {
    if (!rows.length) return h("p", { class: "empty" }, empty);
    return h(
      "table",
      {},
      h("colgroup", {}, columns.map((c) => h("col", { style: c.width ? "width:" + c.width : null }))),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.title)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((cell, i) => h("td", { class: columns[i].num ? "num" : null }, cell)))))
    );
  }

  function paths(list, total) {
    if (!list.length) return null;
    const more = total > list.length ? h("li", {}, "and " + (total - list.length).toLocaleString("en-US") + " more") : null;
    return h("details", {}, h("summary", {}, count(total, "path", "paths")), h("ul", {}, list.map((p) => h("li", { class: "path" }, p)), more));
  }

  function findingsTable() {
    const rows = R.findings.map((f) => [
      h("span", { class: "sev-" + f.severity }, f.severity),
      h("code", {}, f.rule),
      f.layer === null ? "image" : "L" + f.layer,
      f.bytes > 0 ? size(f.bytes) : "",
      h(
        "div",
        {},
        h("div", {}, f.message),
        h("div", { class: "fix" }, "Fix: " + f.fix),
        f.layer !== null && step(f.layer) ? h("div", { class: "fix" }, h("code", {}, step(f.layer))) : null,
        paths(f.paths, f.path_count)
      ),
    ]);
    const t = table(
      [
        { title: "severity", width: "80px" },
        { title: "rule", width: "170px" },
        { title: "layer", width: "60px" },
        { title: "bytes", width: "90px", num: true },
        { title: "what, and the fix" },
      ],
      rows,
      "No findings: nothing to fix."
    );
    const notes = R.diagnostics.map((d) =>
      h("li", {}, (d.layer !== null ? "layer " + d.layer + ": " : "") + (d.path ? d.path + ": " : "") + d.message)
    );
    const box = document.getElementById("findings");
    box.replaceChildren(t);
    if (notes.length) box.append(h("h3", {}, "What could not be read"), h("ul", {}, notes));
  }

  function packagesTable() {
    const dists = [...R.python.distributions].sort((a, b) => b.size_bytes - a.size_bytes || a.name.localeCompare(b.name));
    const rows = dists.map((d) => {
      const libcs = [...new Set(d.extensions.map((e) => e.libc).filter(Boolean))].sort();
      return [
        h("b", {}, d.name),
        d.version,
        size(d.size_bytes),
        d.files.toLocaleString("en-US"),
        "L" + d.layer,
        d.installer || "",
        libcs.length ? libcs.join(" + ") : "-",
      ];
    });
    document.getElementById("packages").replaceChildren(
      table(
        [
          { title: "name" },
          { title: "version", width: "120px" },
          { title: "size", width: "90px", num: true },
          { title: "files", width: "70px", num: true },
          { title: "layer", width: "60px" },
          { title: "installer", width: "90px" },
          { title: "libc of extensions", width: "140px" },
        ],
        rows,
        "No installed Python distribution in this image."
      )
    );
  }

  function elfTable() {
    const rows = R.elf.map((e) => {
      const needs = [
        e.glibc_floor && "GLIBC_" + e.glibc_floor + (e.glibc_symbols.length ? " (" + e.glibc_symbols.slice(0, 3).join(", ") + ")" : ""),
        e.glibcxx_floor && "GLIBCXX_" + e.glibcxx_floor,
        e.cxxabi_floor && "CXXABI_" + e.cxxabi_floor,
      ].filter(Boolean);
      const unresolved = e.unresolved.length ? "missing: " + e.unresolved.join(", ") : "";
      return [
        h("div", {}, h("span", { class: "path" }, e.path), e.distribution ? h("div", { class: "fix" }, e.distribution) : null),
        e.machine + " " + e.type,
        e.libc,
        needs.join(", ") || "-",
        h("div", {}, unresolved, e.interpreter ? h("div", { class: "fix" }, "interpreter " + e.interpreter) : null),
        h("div", {}, (data.elf_rules[e.path] || []).map((r) => h("div", {}, h("code", {}, r)))),
      ];
    });
    document.getElementById("elf").replaceChildren(
      table(
        [
          { title: "file" },
          { title: "machine", width: "140px" },
          { title: "libc", width: "70px" },
          { title: "needs", width: "190px" },
          { title: "libraries", width: "200px" },
          { title: "findings", width: "170px" },
        ],
        rows,
        "No ELF file with a problem."
      )
    );
  }

  function footer() {
    const parts = ["pydive " + R.pydive_version, "treemap laid out by d3-hierarchy (BSD-3-Clause, inlined)"];
    if (data.fold_threshold > 0) parts.push("files and directories under " + size(data.fold_threshold) + " are kept together as \"small files\" tiles");
    document.getElementById("footer").textContent = parts.join(" · ");
  }

  header();
  layerBars();
  findingsTable();
  packagesTable();
  elfTable();
  footer();
  render();
  document.documentElement.dataset.renderedMs = performance.now().toFixed(0);
})();
