/*
 * htmx-config.js: load right after htmx (both deferred). htmx would add a <style> element for
 * its request indicators, which the Content Security Policy refuses (style-src 'self', no
 * inline style); the same rules live in css/stockd.css instead. htmx reads its config when the
 * document is ready, after every deferred script has run, so this setting is in time.
 */
htmx.config.includeIndicatorStyles = false;
