element.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-section]');
  if (button && element.contains(button)) trigger('chip', {section: button.dataset.section, doc: button.dataset.doc || ''});
});
