// binary-parser's package.json "exports" hides its typings from NodeNext resolution; point at them.
declare module 'binary-parser' {
  export { Parser } from 'binary-parser/dist/binary_parser.js';
}
