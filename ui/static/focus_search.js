() => { setTimeout(() => document.querySelector('#pa-search textarea, #pa-search input')?.focus(), 50); }
