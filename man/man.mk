# man/man.mk - the manual page vhdx(1), from its scdoc source.
#
#   make man    $(BUILD)/man/vhdx.1

.PHONY: man
man: $(BUILD)/man/vhdx.1

$(BUILD)/man/vhdx.1: man/vhdx.1.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@.tmp
	mv $@.tmp $@
