// Finds the `tls { ... }` blocks of a rendered nats.conf (top level, cluster, leafnodes,
// websocket, ...) and the min_version of each. NATS config is a JSON superset: keys may be
// quoted or bare and separated from values by ':', '=' or whitespace, so this scans tokens,
// braces and brackets (skipping strings and comments) instead of trusting one layout.
export interface TlsBlock {
  /** Dotted path of the block, e.g. `tls` or `cluster.tls`. */
  path: string;
  minVersion?: string;
}

interface Frame {
  path: string;
  tls?: TlsBlock;
}

export function tlsBlocks(conf: string): TlsBlock[] {
  const blocks: TlsBlock[] = [];
  const frames: Frame[] = [];
  let arrayDepth = 0;
  // The key whose value comes next, once a key has been read.
  let key: string | undefined;
  let i = 0;

  const value = (text: string) => {
    const frame = frames[frames.length - 1];
    if (arrayDepth === 0 && frame?.tls && key?.toLowerCase() === "min_version") frame.tls.minVersion = text;
    key = undefined;
  };
  const token = (text: string) => {
    if (arrayDepth > 0) return;
    if (key === undefined) key = text;
    else value(text);
  };

  while (i < conf.length) {
    const c = conf[i];
    if (c === "#" || (c === "/" && conf[i + 1] === "/")) {
      while (i < conf.length && conf[i] !== "\n") i++;
    } else if (c === '"' || c === "'") {
      let text = "";
      i++;
      while (i < conf.length && conf[i] !== c) {
        if (conf[i] === "\\" && i + 1 < conf.length) i++;
        text += conf[i++];
      }
      i++;
      token(text);
    } else if (c === "{") {
      i++;
      if (arrayDepth > 0) {
        arrayDepth++;
        continue;
      }
      const name = key ?? "";
      const parent = frames.length ? frames[frames.length - 1].path : "";
      const frame: Frame = { path: parent ? `${parent}.${name}` : name };
      if (name.toLowerCase() === "tls") {
        frame.tls = { path: frame.path };
        blocks.push(frame.tls);
      }
      frames.push(frame);
      key = undefined;
    } else if (c === "}") {
      i++;
      if (arrayDepth > 0) arrayDepth--;
      else frames.pop();
      key = undefined;
    } else if (c === "[") {
      i++;
      arrayDepth++;
    } else if (c === "]") {
      i++;
      arrayDepth = Math.max(0, arrayDepth - 1);
      if (arrayDepth === 0) key = undefined;
    } else if (c === ":" || c === "=" || c === "," || c === ";" || /\s/.test(c)) {
      i++;
    } else {
      // A bare word. As a value it may hold ':' (e.g. listen: 0.0.0.0:4222).
      const stop = key === undefined ? /[\s,;:={}[\]"'#]/ : /[\s,;{}[\]"'#]/;
      let text = "";
      while (i < conf.length && !stop.test(conf[i])) text += conf[i++];
      token(text);
    }
  }
  return blocks;
}
