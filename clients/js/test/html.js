// A strict reader for the markup picture() writes: a run of tags and nothing else, every
// attribute value double-quoted, entities only for the five escaped characters. Anything else
// (an unescaped quote or '&', a stray '<', text between tags) fails the test that reads it.
const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };

function decode(raw) {
  if (/[<>'"]/.test(raw)) throw new Error(`unescaped character in attribute value ${raw}`);
  return raw.replace(/&[^;]*;?/g, (entity) => {
    if (!(entity in ENTITIES)) throw new Error(`unknown or broken entity ${entity} in ${raw}`);
    return ENTITIES[entity];
  });
}

export function parseTags(html) {
  const tag = /<(\/?)([a-z]+)((?: [a-z][a-z0-9_:.-]*(?:="[^"]*")?)*)>/y;
  const tags = [];
  let at = 0;
  while (at < html.length) {
    tag.lastIndex = at;
    const m = tag.exec(html);
    if (!m) throw new Error(`not a tag at ${at}: ${html.slice(at, at + 60)}`);
    const attrs = {};
    for (const a of m[3].matchAll(/ ([a-z][a-z0-9_:.-]*)(?:="([^"]*)")?/g)) {
      if (a[1] in attrs) throw new Error(`attribute ${a[1]} twice in ${m[0]}`);
      attrs[a[1]] = a[2] === undefined ? true : decode(a[2]);
    }
    tags.push({ name: m[2], close: m[1] === '/', attrs });
    at = tag.lastIndex;
  }
  return tags;
}

/** A srcset value → [[url, descriptor]]. */
export function candidates(srcset) {
  return srcset.split(', ').map((c) => {
    const [url, descriptor, ...more] = c.split(' ');
    if (more.length) throw new Error(`candidate with more than a URL and a descriptor: ${c}`);
    return [url, descriptor];
  });
}
