// js_on_load of HTML that shows clause chips (clause panel, match results): a chip click becomes the chip event.
element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-section]');
  if (button && element.contains(button)) trigger('chip', {section: button.dataset.section, doc: button.dataset.doc || ''});
});
