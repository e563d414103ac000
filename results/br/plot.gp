set terminal svg size 900,460 dynamic enhanced font 'Helvetica,13'
set output "plot.svg"
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:2.5]
set style fill empty
set autoscale y
set xtics ("W2A2" 0, "W3A3" 1, "W4A4" 2)
plot "plot.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 title "LSQ", \
     "plot.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "LSQ + BR", \
     "plot.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "DoReFa", \
     "plot.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DoReFa + BR", \
     "plot.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "KD (LSQ)", \
     "plot.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "LSQ + BR single-block"
set terminal pngcairo size 900,460 enhanced font 'Helvetica,11'
set output "plot.png"
set title "ResNet-20 FMNIST"
set xlabel "precision (weights / activations)"
set ylabel "test top-1 (%)"
set grid ytics
set key outside right top
unset label
unset logscale x
set offsets 0, 0, 0, 0
set xrange [-0.5:2.5]
set style fill empty
set autoscale y
set xtics ("W2A2" 0, "W3A3" 1, "W4A4" 2)
plot "plot.dat" index 0 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lt 1 title "LSQ", \
     "plot.dat" index 1 using 1:2:3 with yerrorlines lw 2 pt 5 ps 1.2 lt 2 title "LSQ + BR", \
     "plot.dat" index 2 using 1:2:3 with yerrorlines lw 2 pt 9 ps 1.2 lt 3 title "DoReFa", \
     "plot.dat" index 3 using 1:2:3 with yerrorlines lw 2 pt 11 ps 1.2 lt 4 title "DoReFa + BR", \
     "plot.dat" index 4 using 1:2:3 with yerrorlines lw 2 pt 13 ps 1.2 lt 5 title "KD (LSQ)", \
     "plot.dat" index 5 using 1:2:3 with yerrorlines lw 2 pt 15 ps 1.2 lt 6 title "LSQ + BR single-block"
unset output
