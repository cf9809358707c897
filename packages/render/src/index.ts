export { Renderer } from './renderer.js';
export type { RenderOptions, Layout, LayoutFactory, RenderContext, DumpInfo } from './layout.js';
export { layouts } from './registry.js';
export { bucketReport, escapeHtml, type ReportOptions } from './bucket-report.js';
export { bucketTable } from './bucket.js';
