// @ts-check
/**
 * The translations: both dictionaries have the same keys with the same placeholders,
 * every key the sources use exists, Korean is Korean; how the language is picked,
 * remembered and falls back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DICTIONARIES, LANGUAGES, pickLanguage, t, setLanguage, language, onLanguageChange, initLanguage, chooseLanguage,
} from '../../i18n.js';
import { describeMediaProblems } from '../../media.js';
import { explainEnd } from '../../call-end.js';
import { AppStorage } from '../../storage.js';
import { FakeStorage } from './fakes.js';

const UI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PLURAL = /\.(zero|one|two|few|many|other)$/;
const { en, ko } = DICTIONARIES;

/**
 * Whether `dict` has `key`, directly or as plural forms (`key.other`), or `key` is a
 * plural form whose `other` it has (Korean needs only `other`).
 * @param {Record<string, string>} dict
 * @param {string} key
 */
function has(dict, key) {
  if (Object.hasOwn(dict, key) || Object.hasOwn(dict, `${key}.other`)) return true;
  return PLURAL.test(key) && Object.hasOwn(dict, key.replace(PLURAL, '.other'));
}

/** @param {string} text */
function placeholders(text) {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
}

/** @param {string} dir @returns {string[]} the UI's own .js files (no tests, no node_modules) */
function sources(dir) {
  /** @type {string[]} */
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'tests' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.js') && !p.includes(`${path.sep}locales${path.sep}`)) out.push(p);
  }
  return out;
}

test('every key is in both languages', () => {
  const missingInKo = Object.keys(en).filter((k) => !has(ko, k));
  const missingInEn = Object.keys(ko).filter((k) => !has(en, k));
  assert.deepEqual(missingInKo, [], `keys missing from ko.js: ${missingInKo.join(', ')}`);
  assert.deepEqual(missingInEn, [], `keys missing from en.js: ${missingInEn.join(', ')}`);
});

test('placeholders match between English and Korean', () => {
  const wrong = [];
  for (const [key, text] of Object.entries(en)) {
    const other = ko[key] ?? ko[key.replace(PLURAL, '.other')];
    if (other === undefined) continue;
    const a = placeholders(text);
    const b = placeholders(other);
    if (a.join() !== b.join()) wrong.push(`${key}: en {${a}} ko {${b}}`);
  }
  assert.deepEqual(wrong, []);
});

test('Korean sentences are written in Korean, and no sentence is empty', () => {
  // Without Hangul but with an English word: an untranslated copy. (Symbols, key
  // names like "Ctrl+M" and placeholders alone are fine.)
  const untranslated = Object.entries(ko).filter(([, v]) => !/[\uac00-\ud7a3]/.test(v) && /[a-z]{3,}/.test(v.replace(/\{\w+\}/g, ''))).map(([k]) => k);
  assert.deepEqual(untranslated, [], 'Korean entries with English words and no Hangul (untranslated copies?)');
  for (const dict of [en, ko]) for (const [k, v] of Object.entries(dict)) assert.ok(v.trim(), `${k} is empty`);
});

test('every key the UI uses exists in English (scanning ui/**/*.js)', () => {
  const files = sources(UI);
  assert.ok(files.length > 15, `found the sources (${files.length})`);
  /** @type {string[]} */
  const used = [];
  for (const f of files) {
    const src = readFileSync(f, 'utf8');
    // t('key'), tr('key'), and key-like literals in tables (trAttr values, IN_CALL, API_ERRORS).
    for (const m of src.matchAll(/\b(?:t|tr)\(\s*['"]([^'"]+)['"]/g)) used.push(`${m[1]}\t${path.relative(UI, f)}`);
    for (const m of src.matchAll(/['"]((?:language|common|app|lobby|end|media|codes|call|invite|guest|relay)\.[A-Za-z0-9_.-]+)['"]/g)) {
      if (!m[1].endsWith('.js')) used.push(`${m[1]}\t${path.relative(UI, f)}`);
    }
  }
  const keys = new Set(used.map((u) => u.split('\t')[0]));
  assert.ok(keys.size > 40, `found the keys in use (${keys.size})`);
  const unknown = [...new Set(used.filter((u) => !has(en, u.split('\t')[0])))];
  assert.deepEqual(unknown, [], 'keys used but not in en.js (key, file)');
});

test('pickLanguage: the stored choice, else the first browser language we speak, else English', () => {
  assert.equal(pickLanguage(['ko-KR', 'ko', 'en-US'], null), 'ko');
  assert.equal(pickLanguage(['fr-FR', 'KO'], null), 'ko', 'any case, first one we speak');
  assert.equal(pickLanguage(['en-GB', 'ko-KR'], undefined), 'en', 'order matters');
  assert.equal(pickLanguage(['fr-FR', 'de'], null), 'en', 'none we speak: English');
  assert.equal(pickLanguage(undefined, null), 'en');
  assert.equal(pickLanguage([], null), 'en');
  assert.equal(pickLanguage(['ko-KR'], 'en'), 'en', 'the person chose English');
  assert.equal(pickLanguage(['en-US'], 'ko'), 'ko');
  assert.equal(pickLanguage(['ko-KR'], 'xx'), 'ko', 'a stored value we do not know is ignored');
  assert.deepEqual(LANGUAGES.map((l) => l.code).sort(), Object.keys(DICTIONARIES).sort(), 'the switch offers every dictionary');
});

test('t(): placeholders, plural forms, a key missing in Korean falls back to English, unknown shows the key', () => {
  try {
    setLanguage('en');
    assert.equal(t('common.join'), 'Join');
    assert.equal(t('lobby.roomHostedBy', { host: 'desk' }), 'Hosted by desk');
    assert.equal(t('lobby.roomHostedBy'), 'Hosted by {host}', 'a missing parameter stays visible');
    en['test.plural.one'] = '{count} person';
    en['test.plural.other'] = '{count} people';
    ko['test.plural.other'] = '{count}명';
    en['test.onlyEnglish'] = 'Only in English, {name}';
    assert.equal(t('test.plural', { count: 1 }), '1 person');
    assert.equal(t('test.plural', { count: 3 }), '3 people');
    setLanguage('ko');
    assert.equal(t('common.join'), '참가');
    assert.equal(t('test.plural', { count: 1 }), '1명', 'Korean has one form');
    assert.equal(t('test.onlyEnglish', { name: 'Ada' }), 'Only in English, Ada', 'fallback to English');
    assert.equal(t('test.nowhere'), 'test.nowhere');
  } finally {
    for (const k of ['test.plural.one', 'test.plural.other', 'test.onlyEnglish']) delete en[k];
    delete ko['test.plural.other'];
    setLanguage('en');
  }
});

test('initLanguage picks from storage or the browser; chooseLanguage applies, tells listeners and remembers', () => {
  const local = new FakeStorage();
  const storage = new AppStorage({ local });
  /** @type {string[]} */
  const heard = [];
  const off = onLanguageChange((l) => heard.push(l));
  try {
    assert.equal(initLanguage(['ko-KR', 'en'], storage), 'ko');
    assert.equal(language(), 'ko');
    assert.equal(local.getItem('lanmeet.language'), null, 'the browser default is not stored');
    chooseLanguage('en');
    assert.equal(language(), 'en');
    assert.equal(local.getItem('lanmeet.language'), 'en');
    assert.equal(initLanguage(['ko-KR'], storage), 'en', 'the choice wins over the browser next time');
    chooseLanguage(/** @type {any} */ ('xx'));
    assert.equal(language(), 'en', 'an unknown language changes nothing');
    assert.deepEqual(heard, ['ko', 'en', 'en']);
    // Storage that throws (locked-down webview): the page still works.
    const broken = new AppStorage({ local: { getItem: () => { throw new Error('no'); }, setItem: () => { throw new Error('no'); }, removeItem: () => {} } });
    assert.equal(initLanguage(['ko'], broken), 'ko');
    chooseLanguage('en');
    assert.equal(language(), 'en');
  } finally {
    off();
    setLanguage('en');
  }
});

test('camera and microphone problems are one natural sentence, in both languages', () => {
  /** @type {import('../../media.js').Acquired} */
  const none = { audio: null, video: null, audioProblem: 'missing', videoProblem: 'missing' };
  try {
    assert.equal(describeMediaProblems(none), 'No camera or microphone was found. You can still join and see and hear the others.');
    const mixed = { audio: null, video: null, audioProblem: /** @type {const} */ ('busy'), videoProblem: /** @type {const} */ ('denied') };
    assert.equal(
      describeMediaProblems(mixed),
      'The camera is blocked. The microphone is in use by another program. You can still join and see and hear the others. To allow it, use the camera icon in the address bar and reload.',
    );
    setLanguage('ko');
    assert.equal(describeMediaProblems(none), '카메라와 마이크를 찾을 수 없습니다. 그래도 참가해서 다른 사람들을 보고 들을 수 있습니다.');
    // Every problem of every device has a sentence in both languages.
    for (const lang of /** @type {const} */ (['en', 'ko'])) {
      setLanguage(lang);
      for (const p of /** @type {const} */ (['denied', 'missing', 'busy', 'unsupported', 'error'])) {
        for (const a of [{ audioProblem: p }, { videoProblem: p }, { audioProblem: p, videoProblem: p }]) {
          const text = describeMediaProblems({ audio: null, video: null, ...a });
          assert.doesNotMatch(text, /media\./, `${lang} ${JSON.stringify(a)}: ${text}`);
        }
      }
    }
  } finally {
    setLanguage('en');
  }
});

test('how a call ended is said in the language of the moment; the node\'s English only in English', () => {
  const room = { code: 'K7MQ2P', ws: 'ws://10.77.0.1:7878/ws' };
  try {
    setLanguage('ko');
    const full = /** @type {any} */ (explainEnd({ code: 'room-full', message: '' }, room, false));
    assert.match(full.notice, /^K7M-Q2P 방이 가득 찼습니다\./);
    assert.deepEqual(full.actions, [{ label: '다시 시도', action: 'retry' }]);
    const odd = /** @type {any} */ (explainEnd({ code: 'join-timeout', message: 'No join in time.' }, room, false));
    assert.equal(odd.notice, 'K7M-Q2P 방에 참가하지 못했습니다 (join-timeout).');
    const lost = /** @type {any} */ (explainEnd({ code: 'gave-up', message: '' }, room, true));
    assert.equal(lost.title, '연결 끊김');
    assert.deepEqual(lost.actions.map((/** @type {any} */ a) => a.label), ['다시 참가', '로비로 돌아가기']);
  } finally {
    setLanguage('en');
  }
});
